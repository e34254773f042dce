//! The client instance (`MQClientInstance`, MODEL.md section 4): what the producers and
//! consumers of one process share. It caches its topic's route, sticks to one NameServer
//! while that channel is open, and pulls the route every `pollNameServerInterval` (or at
//! once when an application role asks for a route it lacks). Nobody pushes anything to it.
//! Source: client/.../MQClientInstance.java, remoting/.../NettyRemotingClient.java.

use rand::Rng;

use crate::engine::SimTime;
use crate::net::{ChanId, Connect, End, LinkClass};

use super::context::Ctx;
use super::message::{ClientTimer, Msg, Timer};
use super::nameserver::next_on_grid;
use super::observe::Observation;
use super::route::{NO_ROUTE, RouteId};
use super::trace::TraceKind;

/// The route call in progress.
#[derive(Clone, Copy, Debug)]
struct RouteCall {
    req: u32,
    start_us: SimTime,
    /// NameServers the call may still connect to.
    tries_left: u32,
}

/// What a client instance's handler tells the application roles of its process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct RouteNews {
    /// The cached route changed to this.
    pub changed: Option<RouteId>,
    /// The route call in progress ended (answered, failed or given up): sends waiting for a
    /// route go on.
    pub call_ended: bool,
}

impl RouteNews {
    const ENDED: RouteNews = RouteNews { changed: None, call_ended: true };
}

pub struct ClientInstance {
    client: u32,
    topic: u16,
    /// The cached route of `topic` (`topicRouteTable`).
    route: RouteId,
    /// The NameServer the remoting client sticks to, by its place in `namesrvAddr`.
    ns_cursor: u32,
    ns_chan: Option<ChanId>,
    call: Option<RouteCall>,
    next_req: u32,
    next_poll_us: SimTime,
}

impl ClientInstance {
    pub fn new(client: u32, topic: u16) -> ClientInstance {
        ClientInstance {
            client,
            topic,
            route: NO_ROUTE,
            ns_cursor: 0,
            ns_chan: None,
            call: None,
            next_req: 0,
            next_poll_us: 0,
        }
    }

    pub fn route(&self) -> RouteId {
        self.route
    }

    /// True when `chan` is this instance's channel to a NameServer.
    pub fn owns(&self, chan: ChanId) -> bool {
        self.ns_chan == Some(chan)
    }

    /// A (re)start with empty memory; the remoting client starts at a random NameServer.
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        *self = ClientInstance::new(self.client, self.topic);
        let nameservers = ctx.config().layout.nameservers;
        self.ns_cursor = ctx.rng().gen_range(0..nameservers);
        self.next_poll_us = ctx.now() + ctx.config().timing.client_route_poll_initial_delay_us;
        ctx.set_timer_at(self.next_poll_us, Timer::Client(ClientTimer::RoutePoll));
        ctx.observe(Observation::ClientStarted { client: self.client });
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: ClientTimer) -> RouteNews {
        match timer {
            ClientTimer::RoutePoll => {
                let period_us = ctx.config().timing.client_route_poll_us;
                self.next_poll_us = next_on_grid(self.next_poll_us, period_us, ctx.now());
                ctx.set_timer_at(self.next_poll_us, Timer::Client(ClientTimer::RoutePoll));
                self.query(ctx)
            }
            ClientTimer::RouteQueryFailed { req } if self.calling(req) => {
                // The channel may already be gone (a peer close that did not fail the
                // request): then the client has already moved on.
                if let Some(chan) = self.ns_chan {
                    ctx.close(chan, End::Client);
                    self.ns_lost(ctx);
                }
                self.call_ended()
            }
            ClientTimer::RouteConnectTimedOut { req } if self.calling(req) => {
                self.ns_lost(ctx);
                self.continue_call(ctx)
            }
            ClientTimer::RouteQueryFailed { .. } | ClientTimer::RouteConnectTimedOut { .. } => RouteNews::default(),
        }
    }

    /// A message on the NameServer channel (`owns(chan)`).
    pub fn on_message(&mut self, ctx: &mut Ctx, msg: Msg) -> RouteNews {
        match msg {
            Msg::RouteReply { req, route } if self.calling(req) => {
                let mut news = RouteNews::default();
                // TOPIC_NOT_EXIST keeps the cached route; a route is replaced only if changed.
                if route != NO_ROUTE && route != self.route {
                    self.route = route;
                    news.changed = Some(route);
                    let ns_node = self.ns_chan.map(|chan| ctx.peer(chan));
                    ctx.trace(TraceKind::RouteChanged, ns_node, "changed");
                    let ns = ns_node.and_then(|n| ctx.config().layout.nameserver_index(n));
                    ctx.observe(Observation::RouteChanged { client: self.client, route, ns });
                }
                RouteNews { call_ended: self.call_ended().call_ended, ..news }
            }
            Msg::RouteReply { .. } => RouteNews::default(),
            Msg::Close { reset } => {
                // A reset is an error every version handles at once; a plain close fails
                // pending requests at once only with `fail_fast_on_peer_close` (5.x).
                let fail_fast = reset || ctx.config().timing.fail_fast_on_peer_close;
                self.ns_lost(ctx);
                if fail_fast { self.call_ended() } else { RouteNews::default() }
            }
            other => unreachable!("client instance got {other:?}"),
        }
    }

    fn calling(&self, req: u32) -> bool {
        self.call.is_some_and(|c| c.req == req)
    }

    /// `updateTopicRouteInfoFromNameServer`, unless a call is in progress: one query to the
    /// NameServer the client sticks to. With a broken channel, 4.x tries every NameServer in
    /// turn within the call (a refused connect costs nothing, a silent host
    /// `connectTimeoutMillis`); 5.x tries one. The call's budget is `mqClientApiTimeout` from
    /// its start, connects included.
    pub fn query(&mut self, ctx: &mut Ctx) -> RouteNews {
        if self.call.is_some() {
            return RouteNews::default();
        }
        let nameservers = ctx.config().layout.nameservers;
        let tries = if ctx.config().timing.route_query_tries_every_nameserver { nameservers } else { 1 };
        self.next_req = self.next_req.wrapping_add(1);
        self.call = Some(RouteCall { req: self.next_req, start_us: ctx.now(), tries_left: tries });
        self.continue_call(ctx)
    }

    /// Continues the current route call: connect if needed, then query with what is left of
    /// the budget.
    fn continue_call(&mut self, ctx: &mut Ctx) -> RouteNews {
        let timing = &ctx.config().timing;
        let (api_timeout_us, connect_timeout_us) = (timing.client_api_timeout_us, timing.connect_timeout_us);
        let Some(mut call) = self.call else { return RouteNews::default() };
        while self.ns_chan.is_none() {
            if call.tries_left == 0 {
                return self.call_ended();
            }
            call.tries_left -= 1;
            self.call = Some(call);
            let ns_node = ctx.config().layout.nameserver_node(self.ns_cursor);
            match ctx.connect(ns_node, LinkClass::ClientNs) {
                Connect::Open(chan) => self.ns_chan = Some(chan),
                Connect::Refused { .. } => self.ns_lost(ctx),
                Connect::TimedOut => {
                    let timer = ClientTimer::RouteConnectTimedOut { req: call.req };
                    ctx.set_timer_in(connect_timeout_us, Timer::Client(timer));
                    return RouteNews::default();
                }
            }
        }
        let chan = self.ns_chan.expect("connected above");
        let spent_us = ctx.now() - call.start_us;
        if spent_us >= api_timeout_us {
            // invokeSync checks the time after getting the channel: the call has timed out,
            // and clientCloseSocketIfTimeout closes the channel it just opened.
            ctx.close(chan, End::Client);
            self.ns_lost(ctx);
            return self.call_ended();
        }
        let peer = ctx.peer(chan);
        ctx.trace(TraceKind::RoutePoll, Some(peer), "sent");
        ctx.transmit(chan, End::Server, Msg::RouteQuery { req: call.req, topic: self.topic }, 0);
        let timer = ClientTimer::RouteQueryFailed { req: call.req };
        ctx.set_timer_in(api_timeout_us - spent_us, Timer::Client(timer));
        RouteNews::default()
    }

    fn call_ended(&mut self) -> RouteNews {
        self.call = None;
        RouteNews::ENDED
    }

    /// The channel to the current NameServer is gone: the next call goes to the next one.
    fn ns_lost(&mut self, ctx: &Ctx) {
        self.ns_chan = None;
        self.ns_cursor = (self.ns_cursor + 1) % ctx.config().layout.nameservers;
    }
}
