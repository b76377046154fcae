//! go-plugin's own services beside the provider: `plugin.GRPCController` (Terraform's Shutdown call) and
//! `plugin.GRPCStdio`.

use std::pin::Pin;

use tonic::{Request, Response, Status};

use crate::plugin::proto::plugin::grpc_controller_server::GrpcController;
use crate::plugin::proto::plugin::grpc_stdio_server::GrpcStdio;
use crate::plugin::proto::plugin::{Empty, StdioData};
use crate::shutdown::Shutdown;

/// `plugin.GRPCController`: Terraform calls `Shutdown` when it is done with us.
pub(super) struct Controller {
    pub(super) shutdown: Shutdown,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("terraform asked the plugin to shut down");
        // The reply still goes out: graceful shutdown lets in-flight calls, this one included, finish.
        self.shutdown.exit();
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: we never write to stdout/stderr through this channel (logs go to stderr directly), so the
/// stream carries nothing and ends at shutdown. Serving it, rather than `Unimplemented`, keeps go-plugin from
/// logging a warning on every launch.
pub(super) struct Stdio {
    pub(super) shutdown: Shutdown,
}

type StdioStream = Pin<Box<dyn futures_util::Stream<Item = Result<StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        let stream = futures_util::stream::unfold(self.shutdown.clone(), |shutdown| async move {
            shutdown.exiting().await;
            None::<(Result<StdioData, Status>, Shutdown)>
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
