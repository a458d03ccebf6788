//! A keep-alive HTTP/1.1 client for loopback measurements (hyper's own client, which the
//! server's stack already brings): GET and POST of JSON, each bounded by a timeout.

use std::time::Duration;

use anyhow::{anyhow, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient {
            inner: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl HttpClient {
    /// `GET url`; the body as JSON, an error unless the status is 2xx.
    pub async fn get_json(&self, url: &str) -> anyhow::Result<Value> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(url)
            .body(Full::new(Bytes::new()))?;
        let (status, body) = self.send(request).await?;
        if !status.is_success() {
            return Err(anyhow!("GET {url}: HTTP {status}"));
        }
        serde_json::from_slice(&body).with_context(|| format!("GET {url}: the answer is not JSON"))
    }

    /// `POST url` with a JSON body and a bearer token; the raw answer whatever its status.
    pub async fn post_json(
        &self,
        url: &str,
        token: &str,
        body: &Value,
    ) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?;
        self.send(request).await
    }

    async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
        let exchange = async {
            let response = self.inner.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))?
    }
}
