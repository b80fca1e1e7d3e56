//! The rmcp handler: one `#[tool]` per tool (schemas from `params.rs`),
//! the resources, and the server's description.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
#[allow(deprecated)] // MCP logging (see notify.rs)
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolResult, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig, SubscribeRequestParams, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};

use super::params::*;
use super::render::to_result;
use super::session::State;
use super::{resources, tools, Identity};
use crate::engine::Crane;

/// The Crane Context MCP server for one checkout.
#[derive(Clone)]
pub struct CraneMcp {
    state: Arc<State>,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for CraneMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CraneMcp")
            .field("identity", &self.state.identity)
            .finish()
    }
}

impl CraneMcp {
    /// A server acting for `identity` through `crane`.
    pub fn new(crane: Crane, identity: Identity) -> Self {
        Self {
            state: Arc::new(State::new(crane, identity)),
            tool_router: Self::tool_router(),
        }
    }

    /// The shared state (for the notification task).
    pub(crate) fn state(&self) -> Arc<State> {
        Arc::clone(&self.state)
    }
}

type Res = Result<CallToolResult, ErrorData>;

#[tool_router]
impl CraneMcp {
    /// Start or resume this checkout's session.
    #[tool(
        name = "crane_sos",
        description = "Start of session: start (or resume) this checkout's Crane Context session. \
                       Delivers this checkout's queued work first, then keeps the session alive \
                       with automatic heartbeats while this server runs. Shows the last handoff."
    )]
    async fn crane_sos(&self, Parameters(a): Parameters<SosArgs>) -> Res {
        Ok(to_result("crane_sos", tools::sos(&self.state, a).await))
    }

    /// End the session with a handoff.
    #[tool(
        name = "crane_handoff",
        description = "End this checkout's session with a handoff for the next agent. Offline-safe: \
                       when the service cannot be reached the handoff is queued locally and \
                       delivered exactly once as soon as it answers."
    )]
    async fn crane_handoff(&self, Parameters(a): Parameters<HandoffArgs>) -> Res {
        Ok(to_result(
            "crane_handoff",
            tools::handoff(&self.state, a).await,
        ))
    }

    /// Local status.
    #[tool(
        name = "crane_status",
        description = "Local, instant status (no network): the session this server keeps alive, \
                       its next heartbeat, the offline queue's counts and reachability."
    )]
    async fn crane_status(&self) -> Res {
        Ok(to_result("crane_status", tools::status(&self.state).await))
    }

    /// The session's context.
    #[tool(
        name = "crane_context",
        description = "Current session context: the session record and the repository's last handoff."
    )]
    async fn crane_context(&self) -> Res {
        Ok(to_result(
            "crane_context",
            tools::context(&self.state).await,
        ))
    }

    /// Record branch/commit/metadata.
    #[tool(
        name = "crane_update",
        description = "Record the session's branch, commit or metadata (queued when offline)."
    )]
    async fn crane_update(&self, Parameters(a): Parameters<UpdateArgs>) -> Res {
        Ok(to_result(
            "crane_update",
            tools::update(&self.state, a).await,
        ))
    }

    /// Record progress.
    #[tool(
        name = "crane_checkpoint",
        description = "Record progress on the live session (summary, work completed, blockers, \
                       next actions) without ending it."
    )]
    async fn crane_checkpoint(&self, Parameters(a): Parameters<CheckpointArgs>) -> Res {
        Ok(to_result(
            "crane_checkpoint",
            tools::checkpoint(&self.state, a).await,
        ))
    }

    /// Latest handoff and history.
    #[tool(
        name = "crane_handoffs",
        description = "The repository's latest handoff and its handoff history, newest first."
    )]
    async fn crane_handoffs(&self, Parameters(a): Parameters<HandoffsArgs>) -> Res {
        Ok(to_result(
            "crane_handoffs",
            tools::handoffs(&self.state, a).await,
        ))
    }

    /// The prior session.
    #[tool(
        name = "crane_prior",
        description = "The last session of this checkout that ended."
    )]
    async fn crane_prior(&self, Parameters(a): Parameters<PriorArgs>) -> Res {
        Ok(to_result("crane_prior", tools::prior(&self.state, a).await))
    }

    /// Search notes.
    #[tool(
        name = "crane_notes",
        description = "Search or list notes (the service's shared memory)."
    )]
    async fn crane_notes(&self, Parameters(a): Parameters<NotesArgs>) -> Res {
        Ok(to_result("crane_notes", tools::notes(&self.state, a).await))
    }

    /// Create or update a note.
    #[tool(name = "crane_note", description = "Create or update a note.")]
    async fn crane_note(&self, Parameters(a): Parameters<NoteArgs>) -> Res {
        Ok(to_result("crane_note", tools::note(&self.state, a).await))
    }

    /// Read a document.
    #[tool(
        name = "crane_doc",
        description = "Read one document by scope (`global` or a venture code) and name."
    )]
    async fn crane_doc(&self, Parameters(a): Parameters<DocArgs>) -> Res {
        Ok(to_result("crane_doc", tools::doc(&self.state, a).await))
    }

    /// Documentation audit.
    #[tool(
        name = "crane_doc_audit",
        description = "Documentation audit: which required documents of a venture (default this \
                       checkout's; `all` for every venture) are missing or stale. `fix` is \
                       accepted but not done by this server (it generates nothing)."
    )]
    async fn crane_doc_audit(&self, Parameters(a): Parameters<DocAuditArgs>) -> Res {
        Ok(to_result(
            "crane_doc_audit",
            tools::doc_audit(&self.state, a).await,
        ))
    }

    /// List documents.
    #[tool(
        name = "crane_docs",
        description = "List the global and the venture's documents."
    )]
    async fn crane_docs(&self, Parameters(a): Parameters<DocsArgs>) -> Res {
        Ok(to_result("crane_docs", tools::docs(&self.state, a).await))
    }

    /// List ventures.
    #[tool(
        name = "crane_ventures",
        description = "List the ventures with their GitHub org and repositories."
    )]
    async fn crane_ventures(&self) -> Res {
        Ok(to_result(
            "crane_ventures",
            tools::ventures(&self.state).await,
        ))
    }

    /// The offline queue.
    #[tool(
        name = "crane_queue",
        description = "The local offline queue: list pending and dead items, or retry a dead one."
    )]
    async fn crane_queue(&self, Parameters(a): Parameters<QueueArgs>) -> Res {
        Ok(to_result("crane_queue", tools::queue(&self.state, a).await))
    }

    /// Deliver the queue now.
    #[tool(
        name = "crane_sync",
        description = "Deliver the offline queue now and report what happened."
    )]
    async fn crane_sync(&self) -> Res {
        Ok(to_result("crane_sync", tools::sync(&self.state).await))
    }

    /// Readiness check.
    #[tool(
        name = "crane_preflight",
        description = "Validate environment readiness: configuration, checkout, venture, \
                       service reachability and the local queue."
    )]
    async fn crane_preflight(&self) -> Res {
        Ok(to_result(
            "crane_preflight",
            tools::preflight(&self.state).await,
        ))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CraneMcp {
    #[allow(deprecated)] // the logging capability (see notify.rs)
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_logging()
                .enable_tools()
                .enable_resources()
                .enable_resources_subscribe()
                .build(),
        )
        .with_server_info(Implementation::new("crane", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Crane Context sessions for this checkout. Call crane_sos at the start of work and \
             crane_handoff at the end; heartbeats are automatic and an offline handoff is \
             queued and delivered exactly once.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(
            resources::list(&self.state).await,
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.state.subscribe(&request.uri, true);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.state.subscribe(&request.uri, false);
        Ok(())
    }

    #[allow(deprecated)] // MCP logging (see notify.rs)
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.state.log_floor.store(
            super::notify::rank(request.level),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(&self.state, &request.uri)
            .await
            .map(Into::into)
    }
}
