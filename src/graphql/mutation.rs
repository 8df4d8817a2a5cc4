//! Mutations: each parses its input, calls one domain function and shapes the payload.

use async_graphql::{Context, MergedObject, Object};

use super::{
    addresses::AddressMutation,
    context::{optional_session, origin, payload, require_caller, require_session, shop, state, top_level},
    orders::OrderMutation,
    sessions::{SessionMutation, hand_over},
    types::{
        Customer, DeleteAccountPayload, ForgotPasswordPayload, LoginPayload, LogoutPayload,
        RefreshTokenPayload, RegisterInput, RegisterPayload, ResendVerificationEmailPayload,
        ResetPasswordPayload, UpdateProfileInput, UpdateProfilePayload, VerifyEmailPayload,
    },
};
use crate::{accounts, auth::Password};

/// The answer to every `forgotPassword`, whether or not the address has an account.
pub const FORGOT_PASSWORD_MESSAGE: &str =
    "If an account exists for that address, we have e-mailed a password reset link.";
/// The answer to `resendVerificationEmail`.
pub const RESEND_VERIFICATION_MESSAGE: &str =
    "If your address is not verified yet, we have e-mailed you a new verification link.";

/// Write operations: the account's own, its sessions', its address book's, the checkout's.
#[derive(MergedObject, Default)]
pub struct Mutation(AccountMutation, SessionMutation, AddressMutation, OrderMutation);

/// Registering, logging in, changing and recovering an account.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and logs it in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<RegisterPayload> {
        let registration = input.registration(shop(ctx).await?);
        let signed_in = match accounts::register(state(ctx)?, origin(ctx)?, registration).await {
            Ok(signed_in) => signed_in,
            Err(err) => return payload(Err(err)),
        };
        Ok(RegisterPayload {
            refresh_token: hand_over(ctx, signed_in.refresh_token)?,
            customer: Some(Customer::new(signed_in.customer, Some(signed_in.session_id))),
            token: Some(signed_in.token.token),
            expires_at: Some(signed_in.token.expires_at),
            errors: Vec::new(),
        })
    }

    /// Exchanges email and password for an access token.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        #[graphql(secret)] password: String,
    ) -> async_graphql::Result<LoginPayload> {
        let password = Password::new(password);
        let signed_in =
            match accounts::login(state(ctx)?, origin(ctx)?, shop(ctx).await?, &email, &password).await {
                Ok(signed_in) => signed_in,
                Err(err) => return payload(Err(err)),
            };
        Ok(LoginPayload {
            refresh_token: hand_over(ctx, signed_in.refresh_token)?,
            token: Some(signed_in.token.token),
            expires_at: Some(signed_in.token.expires_at),
            customer: Some(Customer::new(signed_in.customer, Some(signed_in.session_id))),
            errors: Vec::new(),
        })
    }

    /// Changes the caller's own profile; only the fields given change.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<UpdateProfilePayload> {
        let caller = require_caller(ctx).await?;
        let changes = input.changes();
        let result = accounts::update_profile(state(ctx)?, origin(ctx)?, &caller, changes).await.map(|c| {
            UpdateProfilePayload {
                customer: Some(Customer::new(c, Some(caller.session_id))),
                errors: Vec::new(),
            }
        });
        payload(result)
    }

    /// Emails a password reset link to `email` if it has an account; the answer is the same either way.
    async fn forgot_password(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<ForgotPasswordPayload> {
        let result = accounts::forgot_password(state(ctx)?, origin(ctx)?, shop(ctx).await?, &email)
            .await
            .map(|_| ForgotPasswordPayload {
                message: Some(FORGOT_PASSWORD_MESSAGE.to_owned()),
                errors: Vec::new(),
            });
        payload(result)
    }

    /// Sets a new password with the token from a reset email; ends every session and logs in afresh.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
        #[graphql(secret)] password: String,
        #[graphql(secret)] password_confirmation: String,
    ) -> async_graphql::Result<ResetPasswordPayload> {
        let (password, confirmation) = (Password::new(password), Password::new(password_confirmation));
        let signed_in =
            match accounts::reset_password(state(ctx)?, origin(ctx)?, &token, &password, &confirmation).await
            {
                Ok(signed_in) => signed_in,
                Err(err) => return payload(Err(err)),
            };
        Ok(ResetPasswordPayload {
            refresh_token: hand_over(ctx, signed_in.refresh_token)?,
            token: Some(signed_in.token.token),
            expires_at: Some(signed_in.token.expires_at),
            customer: Some(Customer::new(signed_in.customer, Some(signed_in.session_id))),
            errors: Vec::new(),
        })
    }

    /// Confirms the email address with the token from a verification email.
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
    ) -> async_graphql::Result<VerifyEmailPayload> {
        let viewer = optional_session(ctx).await?;
        let result = accounts::verify_email(state(ctx)?, &token, viewer.as_ref()).await.map(|verified| {
            VerifyEmailPayload {
                success: true,
                email_verified_at: Some(verified.email_verified_at),
                customer: verified.customer.map(|c| Customer::new(c, viewer.as_ref().map(|v| v.session_id))),
                errors: Vec::new(),
            }
        });
        payload(result)
    }

    /// Sends the caller a new verification email; the previous link stops working.
    async fn resend_verification_email(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ResendVerificationEmailPayload> {
        let caller = require_session(ctx).await?;
        let result = accounts::resend_verification(state(ctx)?, &caller).await.map(|()| {
            ResendVerificationEmailPayload {
                message: Some(RESEND_VERIFICATION_MESSAGE.to_owned()),
                errors: Vec::new(),
            }
        });
        payload(result)
    }

    /// Deletes your account: every session and token ends, your personal data is erased, and a
    /// confirmation goes to your address, which can register again. Needs your password.
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] current_password: String,
    ) -> async_graphql::Result<DeleteAccountPayload> {
        let caller = require_caller(ctx).await?;
        let current_password = Password::new(current_password);
        let result = accounts::delete_account(state(ctx)?, origin(ctx)?, &caller, &current_password)
            .await
            .map(|()| DeleteAccountPayload { success: true, errors: Vec::new() });
        payload(result)
    }

    /// Ends the caller's session; its token is refused from then on.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<LogoutPayload> {
        let caller = require_session(ctx).await?;
        accounts::logout(state(ctx)?, &caller).await.map_err(top_level)?;
        Ok(LogoutPayload { success: true })
    }

    /// A fresh access token for the caller's live session, before the current one expires.
    async fn refresh_token(&self, ctx: &Context<'_>) -> async_graphql::Result<RefreshTokenPayload> {
        let caller = require_caller(ctx).await?;
        let token = accounts::refresh(state(ctx)?, &caller).await.map_err(top_level)?;
        Ok(RefreshTokenPayload { token: token.token, expires_at: token.expires_at })
    }
}
