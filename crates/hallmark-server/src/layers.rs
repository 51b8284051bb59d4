//! Layers that act before a request and after its answer ([`Around`]): the
//! access log, the request metrics, the per-client rate limit and the shaping
//! of error answers (JSON on the API, HTML under `/c/`).
//!
//! One plain tower layer serves them all instead of
//! `axum::middleware::from_fn` and `map_response`: those clone the inner route
//! (a boxed service) and box two futures per request, about 10 k instructions
//! each (2.5 % of a raw verification), four times on every page and lookup.
//! [`AroundFuture`] wraps the inner future in place.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;

/// What a layer does around the inner service.
pub(crate) trait Around: Clone {
    /// What [`Around::before`] keeps for [`Around::after`].
    type Kept;
    /// Before the request runs: `Break(response)` answers it at once (the
    /// inner service is not called).
    fn before(&self, request: &Request) -> ControlFlow<Response, Self::Kept>;
    /// The answer as sent on, once the inner service gave `response`.
    fn after(&self, kept: Self::Kept, response: Response) -> Response;
}

/// The layer of an [`Around`].
#[derive(Clone, Debug)]
pub(crate) struct AroundLayer<H>(pub(crate) H);

impl<S, H: Around> tower::Layer<S> for AroundLayer<H> {
    type Service = AroundService<S, H>;

    fn layer(&self, inner: S) -> AroundService<S, H> {
        AroundService {
            inner,
            hook: self.0.clone(),
        }
    }
}

/// The inner service with the [`Around`] around it.
#[derive(Clone, Debug)]
pub(crate) struct AroundService<S, H> {
    inner: S,
    hook: H,
}

impl<S, H> tower::Service<Request> for AroundService<S, H>
where
    S: tower::Service<Request, Response = Response>,
    H: Around,
{
    type Response = Response;
    type Error = S::Error;
    type Future = AroundFuture<S::Future, H, H::Kept>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.hook.before(&request) {
            ControlFlow::Continue(kept) => AroundFuture::Running {
                inner: self.inner.call(request),
                after: Some((self.hook.clone(), kept)),
            },
            ControlFlow::Break(response) => AroundFuture::Answered {
                response: Some(response),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future, then [`Around::after`]; or the answer
    /// [`Around::before`] gave.
    #[project = AroundProjection]
    pub(crate) enum AroundFuture<F, H, K> {
        /// The inner service runs.
        Running {
            #[pin]
            inner: F,
            after: Option<(H, K)>,
        },
        /// Answered before the inner service.
        Answered {
            response: Option<Response>,
        },
    }
}

impl<F, E, H, K> Future for AroundFuture<F, H, K>
where
    F: Future<Output = Result<Response, E>>,
    H: Around<Kept = K>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AroundProjection::Running { inner, after } => {
                let answer = std::task::ready!(inner.poll(cx));
                Poll::Ready(match (answer, after.take()) {
                    (Ok(response), Some((hook, kept))) => Ok(hook.after(kept, response)),
                    (answer, _) => answer,
                })
            }
            // Polled again after its answer: there is none left to give.
            AroundProjection::Answered { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use tower::{Layer, ServiceExt};

    /// Refuses `/no`, and marks every answer it passes with a header.
    #[derive(Clone)]
    struct Gate;

    impl Around for Gate {
        type Kept = String;
        fn before(&self, request: &Request) -> ControlFlow<Response, String> {
            if request.uri().path() == "/no" {
                return ControlFlow::Break(StatusCode::FORBIDDEN.into_response());
            }
            ControlFlow::Continue(request.uri().path().to_owned())
        }
        fn after(&self, kept: String, mut response: Response) -> Response {
            response
                .headers_mut()
                .insert("x-path", kept.parse().unwrap());
            response
        }
    }

    #[tokio::test]
    async fn answers_before_or_after_the_inner_service() {
        let inner = tower::service_fn(|_: Request| async {
            Ok::<_, std::convert::Infallible>(StatusCode::OK.into_response())
        });
        let service = AroundLayer(Gate).layer(inner);
        let request = |path: &str| Request::builder().uri(path).body(Body::empty()).unwrap();
        let ok = service.clone().oneshot(request("/yes")).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()["x-path"], "/yes");
        let no = service.oneshot(request("/no")).await.unwrap();
        assert_eq!(no.status(), StatusCode::FORBIDDEN);
        assert!(
            no.headers().get("x-path").is_none(),
            "after runs only on the inner answer"
        );
    }
}
