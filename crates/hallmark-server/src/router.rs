//! The router: every route with its handler, and the layers around them
//! (rate limits, metrics, body limits, timeout, error shaping, concurrency,
//! the access log).

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use hallmark::MAX_MANIFEST_BYTES;
use tower::limit::GlobalConcurrencyLimitLayer;

use tower_http::timeout::TimeoutLayer;

use crate::handlers::{
    batches, codes, digital_link, graph, health, history, keys, method_not_allowed, not_found,
    registrations, revocations, scans, status, trust,
};
use crate::layers::AroundLayer;
use crate::{AppState, MAX_JSON_BODY, access, error, middleware, openapi, page};

/// The application: every route with its limits, timeout and error shaping.
pub fn app(state: AppState) -> Router {
    let settings = state.settings().clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/status", post(status::status))
        .route(
            "/v1/batches",
            // The one large body: a manifest (framing and signature included).
            post(batches::batches).layer(DefaultBodyLimit::max(MAX_MANIFEST_BYTES + 1024)),
        )
        .route(
            "/v1/aggregations",
            // A signed aggregation manifest: up to MAX_AGGREGATION_BYTES.
            post(graph::store).layer(DefaultBodyLimit::max(
                hallmark::aggregation::MAX_AGGREGATION_BYTES + 1024,
            )),
        )
        .route("/v1/aggregations/{parent}", get(graph::list))
        .route("/v1/links", post(graph::link))
        .route("/v1/links/{id}/remove", post(graph::remove))
        .route("/v1/trace", get(graph::trace))
        .route("/v1/epcis/events", get(graph::epcis))
        .route("/v1/revocations/snapshot", get(revocations::snapshot))
        .route("/v1/trust/bundle", get(trust::bundle))
        .route("/v1/keys", get(keys::keys))
        // Service and test stations (a `service` token).
        .route(
            "/v1/codes/{code}/events",
            get(history::events).post(history::add_event),
        )
        .route(
            "/v1/lots/{part}/{lot}/events",
            get(history::lot_events).post(history::add_lot_event),
        )
        .route("/readyz", get(health::readyz))
        .merge(
            // The public, unauthenticated reads and scan reports: rate limited per client.
            Router::new()
                .route("/v1/codes/{code}", get(codes::lookup))
                .route("/v1/scans", post(scans::scan))
                // Warranty registration and transfer (claim guessing is also
                // limited per unit, in storage).
                .route("/v1/registrations", post(registrations::registrations))
                .route("/v1/transfers", post(registrations::transfer))
                .route("/v1/transfers/accept", post(registrations::accept))
                // Reports of suspected fakes (reading them takes a `reports` token).
                .route("/v1/reports", get(history::reports).post(history::report))
                // GS1 Digital Link URIs whose stem is this service: what a
                // phone opens from a Digital Link QR.
                .route("/01/{*link}", get(digital_link::resolve))
                .route_layer(AroundLayer(middleware::Limit(state.clone()))),
        )
        .merge(
            // The pages for people: rate limited like the public reads (every
            // error under `/c/` is answered as an HTML page: see below). Verification URLs are
            // printed in upper case so the QR stays alphanumeric.
            Router::new()
                .route("/c/{code}", get(page::code_page))
                .route("/C/{code}", get(page::code_page))
                .route("/c/{code}/report", post(page::report))
                .route(
                    "/c/{code}/register",
                    get(page::register_form).post(page::register),
                )
                .route_layer(AroundLayer(middleware::Limit(state.clone()))),
        )
        .route_layer(AroundLayer(middleware::Track(state.clone())))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(AroundLayer(error::JsonErrors))
        // Outside the JSON shaping, so that every error under `/c/` (the
        // rate limit, a wrong method, a path no route has, a timeout) is an
        // HTML page.
        .layer(AroundLayer(page::HtmlErrors))
        // One semaphore for every route: `Router::layer` applies a layer to
        // each route separately, and `ConcurrencyLimitLayer` would give each
        // its own.
        .layer(GlobalConcurrencyLimitLayer::new(
            settings.max_concurrency.max(1),
        ))
        // Outermost: one line per request with its final status, by route
        // pattern (tower-http's trace layer would put the raw URI, codes and
        // all, in its debug span).
        .layer(AroundLayer(access::AccessLog))
        .with_state(state)
}

/// The metrics endpoint's router (`GET /metrics`).
pub fn metrics_app(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    state.metrics().render(),
                )
            }),
        )
        .with_state(state)
}
