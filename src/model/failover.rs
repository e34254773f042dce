//! DLedger's leader election among a broker group's members (openmessaging/dledger 0.3.1.2,
//! `DLedgerLeaderElector` and `MemberState`; docs/ROCKETMQ-NOTES.md 18), owned by each member's
//! broker. It tells its broker when the member becomes leader or follows another; the broker
//! then switches role and registers at once (`DLedgerRoleChangeHandler`).
//!
//! DLedger's state machine runs every 10 ms; a step it takes "at the next run" is modelled as
//! a timer a uniform 1–10 ms away, drawn from the broker's own stream.
//! Not modelled: the ledger's entry terms (all members are taken to hold entries of the same
//! term, so only the ledger end decides between candidates), leadership transfer, and the
//! quorum write itself (the group's data moves by the HA push; see docs/ROCKETMQ-NOTES.md 21).

use rand::Rng;

use crate::engine::{SimTime, US_PER_MS};
use crate::net::{ChanId, Connect, End, LinkClass};

use super::context::Ctx;
use super::message::{BrokerTimer, ElectorTimer, Msg, Timer};
use super::route::BrokerAddr;

/// DLedger's `StateMaintainer` sleeps this long between runs.
const STATE_MACHINE_PERIOD_US: SimTime = 10 * US_PER_MS;
/// `voteLatch.await(2000 + random.nextInt(maxVoteIntervalMs), ms)`.
const VOTE_LATCH_US: SimTime = 2_000 * US_PER_MS;

/// A peer's answer to a vote request (`VoteResponse.RESULT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    RejectAlreadyVoted,
    RejectAlreadyHasLeader,
    RejectExpiredVoteTerm,
    RejectSmallLedgerEnd,
    RejectTermNotReady,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DlRole {
    Leader,
    Follower,
    Candidate,
}

/// `VoteResponse.ParseResult` of the last round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parse {
    WaitToRevote,
    RevoteImmediately,
    Passed,
    WaitToVoteNext,
}

/// What the broker must do after an elector step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleNews {
    None,
    /// This member leads term `term`.
    Leader {
        term: u16,
    },
    /// This member follows `leader` (a member place).
    Follower {
        leader: u8,
    },
    /// This member stopped leading (or following): it serves as a slave until it hears.
    Candidate,
}

/// One vote round of a candidate.
#[derive(Clone, Copy, Debug, Default)]
struct Round {
    id: u16,
    term: u16,
    /// Members that answered (self included), a bit per place.
    answered: u32,
    accepted: u32,
    valid: u32,
    not_ready: u32,
    bigger_ledger: u32,
    has_leader: bool,
}

pub struct Elector {
    me: u8,
    members: u8,
    first_addr: BrokerAddr,
    role: DlRole,
    term: u16,
    voted_for: Option<u8>,
    leader: Option<u8>,
    last_leader_heartbeat_us: SimTime,
    check_armed: bool,
    /// Leader: the heartbeat round in flight, its successes, the last round with a quorum.
    heartbeat_seq: u16,
    heartbeat_oks: u32,
    /// `None` until a quorum answered once (a run starts before every member is up).
    last_quorum_us: Option<SimTime>,
    /// Candidate.
    known_max_term: u16,
    need_increase_term: bool,
    last_parse: Parse,
    next_vote_us: SimTime,
    maintain_seq: u16,
    round: Option<Round>,
    rounds: u16,
    /// Per member: this member's channel to it (requests go out, answers come back).
    chans: Vec<Option<ChanId>>,
    /// The entries this member's store holds: what it votes with. Its broker keeps it current.
    pub ledger_end: u32,
}

impl Elector {
    /// A member at place `me` of a group of `members` whose first broker is `first_addr`. A
    /// run starts from a settled group: member 0 leads term 1 and everyone voted for it.
    pub fn new(me: u8, members: u8, first_addr: BrokerAddr) -> Elector {
        Elector {
            me,
            members,
            first_addr,
            role: if me == 0 { DlRole::Leader } else { DlRole::Follower },
            term: 1,
            voted_for: Some(0),
            leader: Some(0),
            last_leader_heartbeat_us: 0,
            check_armed: false,
            heartbeat_seq: 0,
            heartbeat_oks: 0,
            last_quorum_us: None,
            known_max_term: 1,
            need_increase_term: false,
            last_parse: Parse::WaitToRevote,
            next_vote_us: 0,
            maintain_seq: 0,
            round: None,
            rounds: 0,
            chans: vec![None; usize::from(members)],
            ledger_end: 0,
        }
    }

    pub fn is_leader(&self) -> bool {
        self.role == DlRole::Leader
    }

    fn quorum(&self, votes: u32) -> bool {
        // `isQuorum`: more than half.
        votes > u32::from(self.members) / 2
    }

    fn bit(member: u8) -> u32 {
        1 << member
    }

    /// The member place of the broker at the other end of `chan`.
    pub fn member_of(&self, ctx: &Ctx, chan: ChanId) -> u8 {
        let addr = ctx.config().layout.broker_addr(ctx.peer(chan)).expect("DLedger peers are brokers");
        (addr - self.first_addr) as u8
    }

    /// First start: the settled group of `new`. A restart: the term on disk, no leader known,
    /// a follower waiting for a heartbeat (or its absence) like one whose leader just spoke.
    pub fn on_start(&mut self, ctx: &mut Ctx, first_start: bool) {
        let (term, voted_for) = (self.term, self.voted_for);
        *self = Elector::new(self.me, self.members, self.first_addr);
        self.last_leader_heartbeat_us = ctx.now();
        if first_start {
            if self.is_leader() {
                self.send_heartbeats(ctx);
            }
            // A follower that has never heard its leader waits for it: the group is settled.
            return;
        }
        (self.term, self.voted_for, self.known_max_term) = (term, voted_for, term);
        self.role = DlRole::Follower;
        self.leader = None;
        self.arm_check(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: ElectorTimer) -> RoleNews {
        match timer {
            ElectorTimer::Heartbeat => self.leader_tick(ctx),
            ElectorTimer::LeaderCheck => {
                self.check_armed = false;
                if self.role != DlRole::Follower {
                    return RoleNews::None;
                }
                if ctx.now() > self.last_leader_heartbeat_us + self.leak_us(ctx) {
                    self.stand_for_election(self.term);
                    self.schedule_maintain(ctx, ctx.now());
                    return RoleNews::Candidate;
                }
                self.arm_check(ctx);
                RoleNews::None
            }
            ElectorTimer::Maintain { seq } if seq == self.maintain_seq => self.maintain(ctx),
            ElectorTimer::Maintain { .. } => RoleNews::None,
            ElectorTimer::RoundEnd { round } => match self.round {
                Some(r) if r.id == round => self.end_round(ctx),
                _ => RoleNews::None,
            },
            ElectorTimer::VoteFailed { round, member } => {
                self.answer(round, member, None);
                self.round_settled(ctx)
            }
        }
    }

    fn leak_us(&self, ctx: &Ctx) -> SimTime {
        let t = &ctx.config().timing;
        SimTime::from(t.dledger_heartbeat_leak) * t.dledger_heartbeat_us
    }

    /// The next run of the state machine after `at_us`.
    fn tick_after(ctx: &mut Ctx, at_us: SimTime) -> SimTime {
        at_us + ctx.rng().gen_range(1..=STATE_MACHINE_PERIOD_US)
    }

    fn arm_check(&mut self, ctx: &mut Ctx) {
        if !self.check_armed {
            self.check_armed = true;
            let at_us = Self::tick_after(ctx, self.last_leader_heartbeat_us + self.leak_us(ctx));
            ctx.set_timer_at(at_us, Timer::Broker(BrokerTimer::Elector(ElectorTimer::LeaderCheck)));
        }
    }

    fn schedule_maintain(&mut self, ctx: &mut Ctx, at_us: SimTime) {
        self.maintain_seq = self.maintain_seq.wrapping_add(1);
        let at_us = Self::tick_after(ctx, at_us.max(ctx.now()));
        let timer = ElectorTimer::Maintain { seq: self.maintain_seq };
        ctx.set_timer_at(at_us, Timer::Broker(BrokerTimer::Elector(timer)));
    }

    /// `getNextTimeToRequestVote`: now plus a uniform vote interval.
    fn next_vote_time(ctx: &mut Ctx) -> SimTime {
        let t = &ctx.config().timing;
        let (lo, hi) = (t.dledger_vote_interval_min_us, t.dledger_vote_interval_max_us);
        ctx.now() + ctx.rng().gen_range(lo..=hi)
    }

    /// `changeRoleToCandidate(term)`: no leader, the highest term heard remembered.
    fn stand_for_election(&mut self, term: u16) {
        if term < self.term {
            return;
        }
        self.known_max_term = self.known_max_term.max(term);
        self.role = DlRole::Candidate;
        self.leader = None;
    }

    /// `maintainAsCandidate`, when its time has come.
    fn maintain(&mut self, ctx: &mut Ctx) -> RoleNews {
        if self.role != DlRole::Candidate || self.round.is_some() {
            return RoleNews::None;
        }
        if ctx.now() < self.next_vote_us && !self.need_increase_term {
            self.schedule_maintain(ctx, self.next_vote_us);
            return RoleNews::None;
        }
        if self.last_parse == Parse::WaitToVoteNext || self.need_increase_term {
            // `nextTerm`: the highest term heard, or one more; no vote cast in it yet.
            self.term = if self.known_max_term > self.term { self.known_max_term } else { self.term + 1 };
            self.known_max_term = self.known_max_term.max(self.term);
            self.voted_for = None;
            self.last_parse = Parse::WaitToRevote;
        }
        if self.need_increase_term {
            // Moved to a higher term seen elsewhere: wait a vote interval before asking.
            self.need_increase_term = false;
            self.next_vote_us = Self::next_vote_time(ctx);
            self.schedule_maintain(ctx, self.next_vote_us);
            return RoleNews::None;
        }
        self.start_round(ctx)
    }

    /// `voteForQuorumResponses`: ask every member, this one included.
    fn start_round(&mut self, ctx: &mut Ctx) -> RoleNews {
        self.rounds = self.rounds.wrapping_add(1);
        let round = Round { id: self.rounds, term: self.term, ..Round::default() };
        self.round = Some(round);
        let own = self.handle_vote(ctx, self.me, self.term, self.ledger_end);
        self.answer(round.id, self.me, Some((self.term, own)));
        let vote_interval_max_us = ctx.config().timing.dledger_vote_interval_max_us;
        let latch_us = VOTE_LATCH_US + ctx.rng().gen_range(0..vote_interval_max_us);
        ctx.set_timer_in(latch_us, Timer::Broker(BrokerTimer::Elector(ElectorTimer::RoundEnd { round: round.id })));
        let ledger_end = self.ledger_end;
        let me = self.me;
        for member in (0..self.members).filter(|&m| m != me) {
            match self.channel(ctx, member) {
                Ok(chan) => ctx.transmit(chan, End::Server, Msg::Vote { term: self.term, ledger_end }, 0),
                // Refused: the RPC fails at once (UNKNOWN); a silent host is left to the latch.
                Err(Some(after_us)) => {
                    let timer = ElectorTimer::VoteFailed { round: round.id, member };
                    ctx.set_timer_in(after_us, Timer::Broker(BrokerTimer::Elector(timer)));
                }
                Err(None) => {}
            }
        }
        self.round_settled(ctx)
    }

    /// Records `member`'s answer (`None`: UNKNOWN, a failed RPC) to round `round`.
    fn answer(&mut self, round: u16, member: u8, reply: Option<(u16, Verdict)>) {
        let Some(r) = self.round.as_mut().filter(|r| r.id == round) else { return };
        if r.answered & Self::bit(member) != 0 {
            return;
        }
        r.answered |= Self::bit(member);
        let Some((term, verdict)) = reply else { return };
        r.valid += 1;
        match verdict {
            Verdict::Accept => r.accepted += 1,
            Verdict::RejectAlreadyVoted => {}
            Verdict::RejectAlreadyHasLeader => r.has_leader = true,
            Verdict::RejectExpiredVoteTerm => self.known_max_term = self.known_max_term.max(term),
            Verdict::RejectSmallLedgerEnd => r.bigger_ledger += 1,
            Verdict::RejectTermNotReady => r.not_ready += 1,
        }
    }

    /// A round's latch opens once a peer has a leader, a quorum accepted (or accepted or
    /// is moving to this term), or everyone answered; else at its timeout.
    fn round_settled(&mut self, ctx: &mut Ctx) -> RoleNews {
        let Some(r) = self.round else { return RoleNews::None };
        let everyone = (1u32 << self.members) - 1;
        if r.has_leader || self.quorum(r.accepted + r.not_ready) || r.answered == everyone {
            self.end_round(ctx)
        } else {
            RoleNews::None
        }
    }

    /// The round's `ParseResult`, in DLedger's order of tests.
    fn end_round(&mut self, ctx: &mut Ctx) -> RoleNews {
        let r = self.round.take().expect("a round in progress");
        if self.role != DlRole::Candidate || r.term != self.term {
            return RoleNews::None;
        }
        let (parse, next_vote_us) = if self.known_max_term > r.term {
            self.stand_for_election(self.known_max_term);
            (Parse::WaitToVoteNext, Self::next_vote_time(ctx))
        } else if r.has_leader {
            (Parse::WaitToVoteNext, Self::next_vote_time(ctx) + self.leak_us(ctx))
        } else if !self.quorum(r.valid) {
            (Parse::WaitToRevote, Self::next_vote_time(ctx))
        } else if !self.quorum(r.valid - r.bigger_ledger) {
            (Parse::WaitToRevote, Self::next_vote_time(ctx) + ctx.config().timing.dledger_vote_interval_max_us)
        } else if self.quorum(r.accepted) {
            (Parse::Passed, ctx.now())
        } else if self.quorum(r.accepted + r.not_ready) {
            (Parse::RevoteImmediately, ctx.now())
        } else {
            (Parse::WaitToVoteNext, Self::next_vote_time(ctx))
        };
        self.last_parse = parse;
        self.next_vote_us = next_vote_us;
        if parse == Parse::Passed {
            self.role = DlRole::Leader;
            self.leader = Some(self.me);
            self.last_quorum_us = Some(ctx.now());
            self.send_heartbeats(ctx);
            return RoleNews::Leader { term: self.term };
        }
        self.schedule_maintain(ctx, next_vote_us);
        RoleNews::None
    }

    /// `handleVote`: this member's verdict on `candidate`'s request.
    fn handle_vote(&mut self, ctx: &mut Ctx, candidate: u8, term: u16, ledger_end: u32) -> Verdict {
        if term < self.term {
            return Verdict::RejectExpiredVoteTerm;
        }
        if term > self.term {
            // Stepped down by a larger term: move to it (without voting) before answering.
            self.stand_for_election(term);
            self.need_increase_term = true;
            self.schedule_maintain(ctx, ctx.now());
            return Verdict::RejectTermNotReady;
        }
        match self.voted_for {
            Some(v) if v != candidate => {
                return if self.leader.is_some() {
                    Verdict::RejectAlreadyHasLeader
                } else {
                    Verdict::RejectAlreadyVoted
                };
            }
            _ => {}
        }
        if ledger_end < self.ledger_end {
            return Verdict::RejectSmallLedgerEnd;
        }
        self.voted_for = Some(candidate);
        Verdict::Accept
    }

    /// The leader's heartbeat timer: step down without a quorum for a leak, else beat.
    fn leader_tick(&mut self, ctx: &mut Ctx) -> RoleNews {
        if self.role != DlRole::Leader {
            return RoleNews::None;
        }
        if self.last_quorum_us.is_some_and(|at_us| ctx.now() > at_us + self.leak_us(ctx)) {
            self.stand_for_election(self.term);
            self.schedule_maintain(ctx, ctx.now());
            return RoleNews::Candidate;
        }
        self.send_heartbeats(ctx);
        RoleNews::None
    }

    fn send_heartbeats(&mut self, ctx: &mut Ctx) {
        self.heartbeat_seq = self.heartbeat_seq.wrapping_add(1);
        self.heartbeat_oks = 1;
        let msg = Msg::DlHeartbeat { term: self.term, seq: self.heartbeat_seq };
        let me = self.me;
        for member in (0..self.members).filter(|&m| m != me) {
            if let Ok(chan) = self.channel(ctx, member) {
                ctx.transmit(chan, End::Server, msg, 0);
            }
        }
        let interval_us = ctx.config().timing.dledger_heartbeat_us;
        ctx.set_timer_in(interval_us, Timer::Broker(BrokerTimer::Elector(ElectorTimer::Heartbeat)));
    }

    /// This member's channel to `member`; `Err(Some(after))` refused, `Err(None)` silent.
    fn channel(&mut self, ctx: &mut Ctx, member: u8) -> Result<ChanId, Option<SimTime>> {
        if let Some(chan) = self.chans[usize::from(member)].filter(|&c| ctx.is_open(c)) {
            return Ok(chan);
        }
        let node = ctx.config().layout.broker_node(self.first_addr + u32::from(member));
        match ctx.connect(node, LinkClass::ClientBroker) {
            Connect::Open(chan) => {
                self.chans[usize::from(member)] = Some(chan);
                Ok(chan)
            }
            Connect::Refused { after_us } => Err(Some(after_us)),
            Connect::TimedOut => Err(None),
        }
    }

    /// True when `chan` is one of this member's channels to its peers.
    pub fn owns(&self, chan: ChanId) -> bool {
        self.chans.contains(&Some(chan))
    }

    /// A request from a peer on the server end of `chan`.
    pub fn on_request(&mut self, ctx: &mut Ctx, chan: ChanId, msg: Msg) -> RoleNews {
        let from = self.member_of(ctx, chan);
        match msg {
            Msg::Vote { term, ledger_end } => {
                let was_leader = self.is_leader();
                let verdict = self.handle_vote(ctx, from, term, ledger_end);
                ctx.transmit(chan, End::Client, Msg::VoteReply { term: self.term, verdict }, 0);
                if was_leader && !self.is_leader() { RoleNews::Candidate } else { RoleNews::None }
            }
            Msg::DlHeartbeat { term, seq } => {
                let (ok, news) = self.handle_heartbeat(ctx, from, term);
                ctx.transmit(chan, End::Client, Msg::DlHeartbeatAck { term: self.term, seq, ok }, 0);
                news
            }
            other => unreachable!("elector request {other:?}"),
        }
    }

    /// `handleHeartBeat`.
    fn handle_heartbeat(&mut self, ctx: &mut Ctx, leader: u8, term: u16) -> (bool, RoleNews) {
        if term < self.term {
            return (false, RoleNews::None);
        }
        if term > self.term {
            // A larger term: first become a candidate of it; the next beat makes a follower.
            let was_leader = self.role == DlRole::Leader;
            self.stand_for_election(term);
            self.need_increase_term = true;
            self.schedule_maintain(ctx, ctx.now());
            return (false, if was_leader { RoleNews::Candidate } else { RoleNews::None });
        }
        match self.leader {
            Some(l) if l == leader => {
                self.last_leader_heartbeat_us = ctx.now();
                self.arm_check(ctx);
                (true, RoleNews::None)
            }
            Some(_) => (false, RoleNews::None),
            None => {
                // `changeRoleToFollower`.
                self.role = DlRole::Follower;
                self.leader = Some(leader);
                self.round = None;
                self.last_leader_heartbeat_us = ctx.now();
                self.arm_check(ctx);
                (true, RoleNews::Follower { leader })
            }
        }
    }

    /// An answer on this member's own channel to a peer.
    pub fn on_reply(&mut self, ctx: &mut Ctx, chan: ChanId, msg: Msg) -> RoleNews {
        let from = self.member_of(ctx, chan);
        match msg {
            Msg::VoteReply { term, verdict } => {
                if let Some(round) = self.round.map(|r| r.id) {
                    self.answer(round, from, Some((term, verdict)));
                }
                self.round_settled(ctx)
            }
            Msg::DlHeartbeatAck { term, seq, ok } => {
                if self.role != DlRole::Leader {
                    return RoleNews::None;
                }
                if term > self.term {
                    self.stand_for_election(term);
                    self.schedule_maintain(ctx, ctx.now());
                    return RoleNews::Candidate;
                }
                if ok && seq == self.heartbeat_seq {
                    self.heartbeat_oks += 1;
                    if self.quorum(self.heartbeat_oks) {
                        self.last_quorum_us = Some(ctx.now());
                    }
                }
                RoleNews::None
            }
            Msg::Close { .. } => {
                self.chans.iter_mut().filter(|c| **c == Some(chan)).for_each(|c| *c = None);
                // A vote request pending on it fails (UNKNOWN).
                if let Some(round) = self.round.map(|r| r.id) {
                    self.answer(round, from, None);
                }
                self.round_settled(ctx)
            }
            other => unreachable!("elector reply {other:?}"),
        }
    }
}
