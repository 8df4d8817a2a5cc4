//! Sessions on GraphQL: the list on `Customer`, ending them, and refreshing access tokens.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    context::{RefreshCookie, payload, project, require_caller, state, top_level},
    types::{UserError, payload},
};
use crate::accounts;

/// Where a refresh token travels in `REFRESH_TOKEN_COOKIE` mode: HttpOnly, Secure and
/// SameSite=Strict, sent only to the GraphQL endpoint, so no script on the storefront can read it.
pub const REFRESH_COOKIE: &str = "refresh_token";
const REFRESH_COOKIE_PATH: &str = "/graphql";

/// A session that still works: one logged-in browser or app.
pub struct Session(pub accounts::Session);

#[Object]
impl Session {
    /// Session id, for `revokeSession`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Whether this request uses this session.
    async fn current(&self) -> bool {
        self.0.current
    }
    /// When it was opened (login, registration or password reset).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When a request last used it, to the minute.
    async fn last_seen_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_seen_at
    }
    /// When it stops working unless ended earlier.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// The client's `User-Agent` when it logged in.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    /// The network it logged in from, never the full address: `203.0.113.0/24`, `2001:db8:1::/48`.
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }
}

/// Result of `revokeSession`.
#[derive(SimpleObject, Default)]
pub struct RevokeSessionPayload {
    /// True once the session is ended.
    pub success: bool,
    /// Why nothing was ended (no session of yours has this id).
    pub errors: Vec<UserError>,
}

/// Result of `logoutEverywhere`.
#[derive(SimpleObject, Default)]
pub struct LogoutEverywherePayload {
    /// How many sessions ended.
    pub revoked: u64,
    /// Always empty; here so every mutation's payload has `errors`.
    pub errors: Vec<UserError>,
}

/// Result of `refreshAccessToken`.
#[derive(SimpleObject, Default)]
pub struct RefreshAccessTokenPayload {
    /// A new access token for the same session.
    pub token: Option<String>,
    /// The next refresh token; the one presented no longer works. Null in
    /// `REFRESH_TOKEN_COOKIE` mode, where it is set as a cookie.
    pub refresh_token: Option<String>,
    /// When `token` expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Why no token was issued (`INVALID_TOKEN`: unknown, spent or of an ended session).
    pub errors: Vec<UserError>,
}

payload!(RevokeSessionPayload, LogoutEverywherePayload, RefreshAccessTokenPayload);

/// Hands a new refresh token to the client: in the payload, or in `REFRESH_TOKEN_COOKIE` mode
/// as a cookie (and `None` for the payload).
pub fn hand_over(ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<Option<String>> {
    let settings = &state(ctx)?.settings;
    if !settings.auth.refresh_token_cookie {
        return Ok(Some(refresh_token));
    }
    use axum_extra::extract::cookie::{Cookie, SameSite};
    let max_age = i64::try_from(settings.auth.session_ttl_seconds).unwrap_or(i64::MAX);
    let cookie = Cookie::build((REFRESH_COOKIE, refresh_token))
        .path(REFRESH_COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(max_age));
    ctx.append_http_header(axum::http::header::SET_COOKIE, cookie.to_string());
    Ok(None)
}

/// Session mutations.
#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Ends one of your sessions (see `me { sessions }`); its tokens stop working at once.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<RevokeSessionPayload> {
        let caller = require_caller(ctx).await?;
        let result = accounts::revoke_session(state(ctx)?, &caller, &id)
            .await
            .map(|()| RevokeSessionPayload { success: true, errors: Vec::new() });
        payload(result)
    }

    /// Ends every session of your account, this one included; with `keepCurrent: true`, every
    /// other one ("log out other devices").
    async fn logout_everywhere(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] keep_current: Option<bool>,
    ) -> async_graphql::Result<LogoutEverywherePayload> {
        let caller = require_caller(ctx).await?;
        // An explicit null means what leaving it out means.
        let keep_current = keep_current.unwrap_or(false);
        let revoked =
            accounts::logout_everywhere(state(ctx)?, &caller, keep_current).await.map_err(top_level)?;
        Ok(LogoutEverywherePayload { revoked, errors: Vec::new() })
    }

    /// Exchanges a refresh token for a new access token and a new refresh token; needs no
    /// access token. Each refresh token works once: presented again, it ends its session.
    /// In `REFRESH_TOKEN_COOKIE` mode pass an empty string; the cookie is used.
    async fn refresh_access_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] refresh_token: String,
    ) -> async_graphql::Result<RefreshAccessTokenPayload> {
        let presented = match (refresh_token.trim().is_empty(), ctx.data_opt::<RefreshCookie>()) {
            (true, Some(RefreshCookie(Some(cookie)))) => cookie.clone(),
            _ => refresh_token,
        };
        // A wrong or revoked shop key is refused; the token works only in the key's shop.
        let project = project(ctx).await.map_err(top_level)?;
        let refreshed = match accounts::refresh_access_token(state(ctx)?, project, &presented).await {
            Ok(refreshed) => refreshed,
            Err(err) => return payload(Err(err)),
        };
        Ok(RefreshAccessTokenPayload {
            token: Some(refreshed.token.token),
            expires_at: Some(refreshed.token.expires_at),
            refresh_token: hand_over(ctx, refreshed.refresh_token)?,
            errors: Vec::new(),
        })
    }
}
