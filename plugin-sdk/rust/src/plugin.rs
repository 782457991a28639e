//! The plugin builder: name, version, methods, lifecycle hooks.

use crate::context::Context;
use crate::error::PluginError;
use crate::framing::DEFAULT_MAX_MESSAGE_BYTES;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub(crate) type Handler = Arc<dyn Fn(Value, Context) -> BoxFuture<Result<Value, PluginError>> + Send + Sync>;
pub(crate) type Hook = Box<dyn FnOnce(Context) -> BoxFuture<Result<(), PluginError>> + Send>;

pub(crate) struct MethodSpec {
    pub name: String,
    pub description: String,
    pub params_schema: Option<Value>,
    pub result_schema: Option<Value>,
    pub streaming: bool,
    pub handler: Handler,
}

impl MethodSpec {
    pub fn descriptor(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        if !self.description.is_empty() {
            m.insert("description".into(), json!(self.description));
        }
        if let Some(s) = &self.params_schema {
            m.insert("paramsSchema".into(), s.clone());
        }
        if let Some(s) = &self.result_schema {
            m.insert("resultSchema".into(), s.clone());
        }
        if self.streaming {
            m.insert("streaming".into(), json!(true));
        }
        Value::Object(m)
    }
}

/// A plugin under construction. Add methods, then [`run`](Plugin::run) it.
///
/// Handlers are `async` closures `|params: Value, ctx: Context| async move { ... }` returning
/// `Result<Value, PluginError>`. `params` is always an object, with the daemon's `_meta`
/// removed (read it through [`Context`]). Each call runs in its own tokio task.
pub struct Plugin {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) methods: Vec<MethodSpec>,
    pub(crate) events: Vec<String>,
    pub(crate) activate: Option<Hook>,
    pub(crate) deactivate: Option<Hook>,
    pub(crate) max_message_bytes: usize,
    pub(crate) cancel_grace: Duration,
    pub(crate) cancel_settle: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) hook_timeout: Duration,
    pub(crate) redirect_stdout: bool,
}

impl Plugin {
    /// A plugin with this name and version (what `initialize` answers).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Plugin {
            name: name.into(),
            version: version.into(),
            methods: Vec::new(),
            events: Vec::new(),
            activate: None,
            deactivate: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            cancel_grace: Duration::from_secs(2),
            cancel_settle: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(2),
            hook_timeout: Duration::from_millis(1500),
            redirect_stdout: true,
        }
    }

    fn add(mut self, spec: MethodSpec) -> Self {
        if let Some(existing) = self.methods.iter_mut().find(|m| m.name == spec.name) {
            *existing = spec;
        } else {
            self.methods.push(spec);
        }
        self
    }

    /// Adds a method. `description` may be empty; `params_schema` is a JSON Schema the
    /// daemon enforces before the call reaches the plugin.
    pub fn method<F, Fut>(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
        params_schema: Option<Value>,
        handler: F,
    ) -> Self
    where
        F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, PluginError>> + Send + 'static,
    {
        self.add(MethodSpec {
            name: name.into(),
            description: description.into(),
            params_schema,
            result_schema: None,
            streaming: false,
            handler: Arc::new(move |p, c| Box::pin(handler(p, c))),
        })
    }

    /// Adds a streaming method (`"streaming": true`): it sends values with
    /// [`Context::progress`] before its result. Called without a progress token, its result
    /// is the array of those values.
    pub fn streaming<F, Fut>(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
        params_schema: Option<Value>,
        handler: F,
    ) -> Self
    where
        F: Fn(Value, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, PluginError>> + Send + 'static,
    {
        self.add(MethodSpec {
            name: name.into(),
            description: description.into(),
            params_schema,
            result_schema: None,
            streaming: true,
            handler: Arc::new(move |p, c| Box::pin(handler(p, c))),
        })
    }

    /// Adds a method with typed params and result (serde). Params that do not deserialize
    /// into `P` are answered with -32602.
    pub fn typed_method<P, R, F, Fut>(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
        params_schema: Option<Value>,
        handler: F,
    ) -> Self
    where
        P: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(P, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, PluginError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.method(name, description, params_schema, move |params, ctx| {
            let handler = handler.clone();
            async move {
                let p: P = serde_json::from_value(params)
                    .map_err(|e| PluginError::invalid_params(format!("invalid params: {e}")))?;
                let r = handler(p, ctx).await?;
                serde_json::to_value(r).map_err(|e| PluginError::internal(format!("result does not serialize: {e}")))
            }
        })
    }

    /// Declares a result schema for an already added method (sent as `resultSchema`).
    pub fn result_schema(mut self, method: &str, schema: Value) -> Self {
        if let Some(m) = self.methods.iter_mut().find(|m| m.name == method) {
            m.result_schema = Some(schema);
        }
        self
    }

    /// Declares an event name the plugin emits (listed in `initialize`'s `events`).
    pub fn event(mut self, name: impl Into<String>) -> Self {
        self.events.push(name.into());
        self
    }

    /// Runs once on `initialize`, before the plugin answers it; `ctx.config()` and
    /// `ctx.data_dir()` are set. An error fails the start (the answer is that error).
    /// `bkg/call` is not allowed here; events are held until `initialized`.
    pub fn on_activate<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), PluginError>> + Send + 'static,
    {
        self.activate = Some(Box::new(move |c| Box::pin(hook(c))));
        self
    }

    /// Runs once when the plugin stops: on `shutdown` (after in-flight calls finish or are
    /// cancelled), on `exit` without `shutdown`, or when stdin closes. It is given
    /// `hook_timeout` (1.5 s) when stdin closed or on `exit`.
    pub fn on_deactivate<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), PluginError>> + Send + 'static,
    {
        self.deactivate = Some(Box::new(move |c| Box::pin(hook(c))));
        self
    }

    /// The largest frame accepted from the daemon (default 64 MiB, the daemon's default).
    pub fn max_message_bytes(mut self, n: usize) -> Self {
        self.max_message_bytes = n;
        self
    }

    /// How long a cancelled handler keeps running (to clean up) before it is aborted
    /// (default 2 s). The call is answered -32800 at once either way.
    pub fn cancel_grace(mut self, d: Duration) -> Self {
        self.cancel_grace = d;
        self
    }

    /// On `shutdown`, how long in-flight calls may run before they are cancelled
    /// (default 2 s; the daemon waits 5 s for the answer).
    pub fn shutdown_grace(mut self, d: Duration) -> Self {
        self.shutdown_grace = d;
        self
    }

    /// How long `deactivate` may take when stdin closed or on `exit` (default 1.5 s:
    /// the protocol wants the process gone within 2 s).
    pub fn hook_timeout(mut self, d: Duration) -> Self {
        self.hook_timeout = d;
        self
    }

    /// Whether [`run`](Plugin::run) points file descriptor 1 at stderr (default true, Unix),
    /// so a stray `println!` in the plugin or a library cannot corrupt the protocol stream;
    /// frames go to a private copy of the original stdout.
    pub fn redirect_stdout(mut self, on: bool) -> Self {
        self.redirect_stdout = on;
        self
    }

    /// Serves the protocol on stdin/stdout until `exit` or end of input, then exits the
    /// process (code 0; 1 if the input stream broke). Needs a tokio runtime.
    pub async fn run(self) -> ! {
        let output = crate::runtime::protocol_stdout(self.redirect_stdout);
        let code = self.serve(std::io::stdin(), output).await;
        std::process::exit(code)
    }

    /// [`run`](Plugin::run) with a runtime of its own, for a plain `fn main`.
    pub fn run_blocking(self) -> ! {
        let rt =
            tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("cannot start the tokio runtime");
        rt.block_on(self.run())
    }

    /// Serves the protocol on any byte streams and returns the exit code instead of
    /// exiting (for embedding and tests). Reading and writing happen on threads of their
    /// own; `output` is written only by the SDK's single writer.
    pub async fn serve<R, W>(self, input: R, output: W) -> i32
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        crate::runtime::serve(self, input, output).await
    }
}
