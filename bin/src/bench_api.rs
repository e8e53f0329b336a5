//! `smesh bench api`: requests per second and latency percentiles of the node's API on
//! loopback, against a running node (`smesh node` or a devnet member): Account.List and
//! Layer.List over the JSON gateway and over gRPC, each next to its transport floor measured in
//! the same run (JSON: a static page of the same listener, which never reaches the node loop;
//! gRPC: Network.Info, answered from the listener's copy of the network's constants). The
//! ratio says what the node-loop round trip and the method's work add to the stack's cost.
//!
//! Load comes from `--concurrency` tasks on this process's runtime, each sending its next
//! request when the last one is answered (closed loop), so server and client share this
//! machine's cores: the figures are for one machine playing both parts.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt as _, Full};
use hyper::header::CONTENT_TYPE;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, Args)]
pub(crate) struct ApiArgs {
    /// The node's JSON gateway (HOST:PORT).
    #[arg(long, default_value = "127.0.0.1:9094")]
    json: String,
    /// Seconds of load per measured method.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The account Account.List asks about (bech32; default: the wallet of seed zero, which
    /// need not exist: the node answers with its zero state either way).
    #[arg(long)]
    address: Option<String>,
}

/// What one measured method did.
struct Load {
    requests: u64,
    seconds: f64,
    /// Latencies in microseconds, sorted.
    latencies: Vec<u32>,
}

impl Load {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies[at]) / 1000.0
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One request: a GET when `body` is `None`, else a JSON POST. Fails on anything but 200.
async fn exchange(client: &HttpClient, url: &str, body: Option<&str>) -> Result<()> {
    let req = match body {
        None => hyper::Request::get(url).body(Full::new(Bytes::new()))?,
        Some(b) => hyper::Request::post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(b.as_bytes())))?,
    };
    let res = client.request(req).await.with_context(|| format!("{url}: no answer"))?;
    let status = res.status();
    let bytes = res.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("{url}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
    }
    Ok(())
}

/// Closed-loop load: `concurrency` tasks, each calling `one` until `seconds` are over.
async fn load<F, Fut>(concurrency: usize, seconds: f64, one: F) -> Result<Load>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    one().await.context("the first request failed")?;
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let one = one.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let t = Instant::now();
                one().await?;
                latencies.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.context("a load task panicked")??);
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok(Load { requests: latencies.len() as u64, seconds, latencies })
}

fn row(name: &str, l: &Load, floor: Option<&Load>) {
    let ratio =
        floor.map(|f| format!("{:>6.2}x of the floor", l.rate() / f.rate())).unwrap_or_default();
    out!(
        "  {name:<34} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   {ratio}",
        l.rate(),
        l.percentile(0.50),
        l.percentile(0.99),
    );
}

async fn json_loads(args: &ApiArgs, address: &str) -> Result<()> {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let base = format!("http://{}", args.json);
    let get = |path: &'static str| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        move || {
            let (client, url) = (client.clone(), url.clone());
            async move { exchange(&client, &url, None).await }
        }
    };
    let post = |method: &'static str, body: String| {
        let (client, url) = (client.clone(), format!("{base}/spacemesh.v2alpha1.{method}"));
        move || {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            async move { exchange(&client, &url, Some(&body)).await }
        }
    };
    let floor = load(args.concurrency, args.seconds, get("/web/style.css")).await?;
    let accounts = load(
        args.concurrency,
        args.seconds,
        post("AccountService/List", format!(r#"{{"addresses":["{address}"],"limit":"1"}}"#)),
    )
    .await?;
    let layers = load(
        args.concurrency,
        args.seconds,
        post("LayerService/List", r#"{"startLayer":0,"endLayer":100000,"limit":"10"}"#.into()),
    )
    .await?;
    out!(
        "JSON gateway at {} ({} in flight, {} s each):",
        args.json,
        args.concurrency,
        args.seconds
    );
    row("static page (floor)", &floor, None);
    row("AccountService.List (1 account)", &accounts, Some(&floor));
    row("LayerService.List (10 layers)", &layers, Some(&floor));
    Ok(())
}

pub(crate) fn run(args: &ApiArgs) -> Result<ExitCode> {
    ensure!(
        args.seconds > 0.0 && args.concurrency > 0,
        "--seconds and --concurrency must be positive"
    );
    let address = match &args.address {
        Some(a) => a.clone(),
        None => {
            let key = spacemesh_core::tx::TxKey::from_seed([0; 32]);
            key.wallet_address().to_bech32(spacemesh_core::account::HRP_TESTNET)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(json_loads(args, &address))?;
    Ok(ExitCode::SUCCESS)
}
