//! The OpenAPI document, built from the bodies in [`crate::api`] and the
//! handlers' `#[utoipa::path]` annotations, served at `GET /openapi.json`.
//! This is the one module that lists the handlers for the document; no
//! handler imports it.
//!
//! Each handler's `#[utoipa::path]` names its tag explicitly
//! (`crate::routes` or `crate::pages`; the routes of issue 16 are
//! `registrations` and `history`, their pages `crate::pages`): utoipa
//! derives a default tag from the handler's module path, and these are the
//! tags of the document as first published, so moving a handler does not
//! change the served document.
//!
//! `tests/api.rs` checks that the document lists every route, and
//! `scripts/api-fuzz.sh` runs schemathesis against a live server to check
//! every answer against it.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hallmark",
        description = "Lookups, scan reports with clone alerts, status changes and signed \
                       revocation snapshots for hallmark codes and GS1 units signed with AI \
                       8030 (element strings, bracketed form, GS1 Digital Link, also as \
                       `/01/…` on this host). Every error is JSON `{error, detail}`."
    ),
    paths(
        crate::handlers::health::healthz,
        crate::handlers::health::readyz,
        crate::handlers::keys::keys,
        crate::handlers::codes::lookup,
        crate::handlers::scans::scan,
        crate::handlers::status::status,
        crate::handlers::batches::batches,
        crate::handlers::revocations::snapshot,
        crate::handlers::trust::bundle,
        crate::page::code_page,
        crate::page::register_form,
        crate::page::register,
        crate::page::report,
        crate::handlers::digital_link::resolve,
        crate::handlers::registrations::registrations,
        crate::handlers::registrations::transfer,
        crate::handlers::registrations::accept,
        crate::handlers::history::add_event,
        crate::handlers::history::events,
        crate::handlers::history::add_lot_event,
        crate::handlers::history::lot_events,
        crate::handlers::history::report,
        crate::handlers::history::reports,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Declares the bearer token scheme the write endpoints name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as served.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"internal\",\"detail\":\"{e}\"}}"))
}

/// `GET /openapi.json`: the document (computed once).
pub(crate) async fn document() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(openapi_json).clone();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}
