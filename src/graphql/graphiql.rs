//! GraphiQL, served by the service itself: the page, pinned GraphiQL and React builds embedded
//! in the binary, and a Content-Security-Policy that allows only this origin. No CDN, so the
//! playground works offline, in an air-gapped shop network and behind a strict CSP.

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// Scripts and styles from this origin only; GraphiQL's fonts and icons are `data:` URLs and it
/// sets inline styles, so those two are allowed; nothing may frame the page.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    font-src 'self' data:; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// A year: the versioned files never change under their names.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The unversioned files may change with a release.
const BRIEF: &str = "public, max-age=300";

/// Every file under `/graphql/assets/`: name, media type, caching, bytes.
const ASSETS: &[(&str, &str, &str, &[u8])] = &[
    ("graphiql-3.8.3.min.js", "text/javascript", IMMUTABLE, include_bytes!("graphiql/graphiql-3.8.3.min.js")),
    ("graphiql-3.8.3.min.css", "text/css", IMMUTABLE, include_bytes!("graphiql/graphiql-3.8.3.min.css")),
    (
        "react-18.3.1.production.min.js",
        "text/javascript",
        IMMUTABLE,
        include_bytes!("graphiql/react-18.3.1.production.min.js"),
    ),
    (
        "react-dom-18.3.1.production.min.js",
        "text/javascript",
        IMMUTABLE,
        include_bytes!("graphiql/react-dom-18.3.1.production.min.js"),
    ),
    ("init.js", "text/javascript", BRIEF, include_bytes!("graphiql/init.js")),
    ("page.css", "text/css", BRIEF, include_bytes!("graphiql/page.css")),
];

/// The playground page.
pub fn page() -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], include_str!("graphiql/page.html"))
            .into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    response
}

/// `GET /graphql/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, media_type, cache, bytes)) = ASSETS.iter().find(|(name, ..)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
    ];
    (headers, *bytes).into_response()
}
