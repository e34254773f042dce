#!/usr/bin/env python3
"""A plain SimPy model of the workload of scenarios/bench/simpy-200.yaml (and -2000), for the
speed comparison in README section Speed, "Against SimPy" (issue 12).

What it models is routesim's routing semantics for that workload, with RocketMQ 4.x defaults
(MODEL.md sections 2-5; routesim's src/model/): 3 NameServers; 4 broker groups of one master
with 4 write queues each; every broker registers with every NameServer at start-up, 10 s later
and then every 30 s (6 s timeout, a timed-out request closes its channel); a NameServer closes a
broker's channel after 120 s without traffic and then drops the broker, and scans every 10 s
(after 5 s) for brokers silent longer than 120 s; producers poll the route every 30 s (first
after 10 ms) from the NameServer they stick to, send async at 5/s (Poisson), pick queues
round-robin, skip the broker that failed last on a retry, and spend one 3 s budget on at most
3 attempts (a request that times out closes its channel; a connect to a powered-off host waits
3 s); broker-a's host loses power at 300 s of 600 s. No latency fault isolation
(`sendLatencyFaultEnable` is false by default, in RocketMQ and in routesim). One-way network
delays are lognormal (median 500 us, p99 5 ms), FIFO per channel; a broker answers a send
after U(200 us, 2 ms). Brokers start at U(0, 30 s), NameServers at U(0, 1 s), producers at
30 s + U(0, 30 s).

What it leaves out, because this workload never reaches it: NameServer faults, partitions,
loss, kills (refused connects), slaves and failover, consumers, sync producers.

It is written the way the SimPy documentation writes such models: one process per activity
(a producer's traffic, each send, each registration round, each scan, each message on the
wire, as in the docs' "event latency" example), timeouts, an inbox Store per server, and
request/response as an Event the requester waits on with `reply | timeout`. It uses one
`random.Random(seed)` stream, so its draws differ from routesim's: the two agree in
distribution, not seed by seed.

Usage: python3 benches/simpy/routing.py [--producers N] [--seed S]
Needs SimPy (benches/simpy/requirements.txt): pip install -r benches/simpy/requirements.txt
"""

import argparse
import math
import random
import time

import simpy

# The workload (scenarios/bench/simpy-*.yaml).
NAMESERVERS = 3
BROKER_GROUPS = 4
QUEUES_PER_BROKER = 4
RATE_PER_S = 5.0
DURATION_S = 600.0
POWER_OFF_AT_S = 300.0
POWER_OFF_GROUP = 0  # broker-a

# RocketMQ 4.x defaults, as routesim's preset rocketmq-4 sets them (MODEL.md section 9).
REGISTER_INITIAL_DELAY_S = 10.0  # the periodic registration's initial delay
REGISTER_PERIOD_S = 30.0  # registerNameServerPeriod
REGISTER_TIMEOUT_S = 6.0  # registerBrokerTimeoutMills
SCAN_INITIAL_DELAY_S = 5.0
SCAN_PERIOD_S = 10.0  # scanNotActiveBroker
BROKER_EXPIRY_S = 120.0  # BROKER_CHANNEL_EXPIRED_TIME
CHANNEL_IDLE_S = 120.0  # serverChannelMaxIdleTimeSeconds
ROUTE_POLL_INITIAL_DELAY_S = 0.010
ROUTE_POLL_S = 30.0  # pollNameServerInterval
CLIENT_API_TIMEOUT_S = 3.0  # mqClientApiTimeout
CONNECT_TIMEOUT_S = 3.0  # connectTimeoutMillis
SEND_TIMEOUT_S = 3.0  # sendMsgTimeout: one budget for all attempts
RETRIES = 2  # retryTimesWhenSendAsyncFailed

# routesim's defaults for what RocketMQ does not set.
START_WINDOW_S = 30.0
NAMESERVER_START_WINDOW_S = 1.0
LATENCY_MEDIAN_S = 500e-6
LATENCY_P99_S = 5e-3
LATENCY_MAX_S = 60.0
SERVICE_TIME_S = (200e-6, 2e-3)
Z_P99 = 2.326347874


class Node:
    """A host: up once started, silent once powered off."""

    def __init__(self, env, name):
        self.env = env
        self.name = name
        self.started = False
        self.powered_off = False


class Channel:
    """A TCP connection between a client and a server node: FIFO each way, nothing lost while
    both ends are open and the destination has power; a close reaches the peer one delay later."""

    def __init__(self, net, client, server):
        self.net = net
        self.client = client
        self.server = server
        self.open = {client: True, server: True}
        self.last_arrival = {client: net.env.now, server: net.env.now}
        # Last read or write at the server end, for the server's idle close, and whether the
        # server watches it.
        self.server_activity = net.env.now
        self.idle_watched = False

    def peer(self, node):
        return self.server if node is self.client else self.client

    def send(self, to, deliver, *message, after=0.0):
        """Puts a message on the wire towards `to`, leaving `after` seconds from now; when it
        arrives (if the channel is still open there), `deliver(*message)` hands it over. A
        powered-off host neither sends nor receives (its timers may still run here: they act
        through this)."""
        if to.powered_off or self.peer(to).powered_off:
            return
        env = self.net.env
        arrival = max(env.now + after + self.net.delay(), self.last_arrival[to])
        self.last_arrival[to] = arrival
        env.process(self._carry(arrival - env.now, to, deliver, message))

    def _carry(self, delay, to, deliver, message):
        yield self.net.env.timeout(delay)
        if self.open[to] and not to.powered_off:
            deliver(*message)

    def close(self, at):
        """Closes the `at` end; the peer learns of it when the signal arrives."""
        if not self.open[at]:
            return
        self.open[at] = False
        peer = self.peer(at)
        self.send(peer, self._closed_by_peer, peer)

    def _closed_by_peer(self, node):
        self.open[node] = False
        node.channel_closed(self)


class Net:
    def __init__(self, env, rng):
        self.env = env
        self.rng = rng
        self.mu = math.log(LATENCY_MEDIAN_S)
        self.sigma = (math.log(LATENCY_P99_S) - self.mu) / Z_P99

    def delay(self):
        return min(self.rng.lognormvariate(self.mu, self.sigma), LATENCY_MAX_S)

    def connect(self, client, server):
        """A channel, or None if the server host does not answer (the caller waits for its
        connect timeout). A host up but not started refuses: None too, at once."""
        if server.powered_off or not server.started:
            return None
        return Channel(self, client, server)


class NameServer(Node):
    def __init__(self, env, index, metrics):
        super().__init__(env, f"ns-{index}")
        self.index = index
        self.metrics = metrics
        self.inbox = simpy.Store(env)
        # Broker group -> (channel of its last registration, time of that registration).
        self.live = {}
        self.route = ()  # listed broker groups, in order

    def run(self, start):
        yield self.env.timeout(start)
        self.started = True
        self.env.process(self.scan())
        while True:
            chan, request = yield self.inbox.get()
            chan.server_activity = self.env.now
            kind, payload, reply = request
            if kind == "register":
                self.register(chan, payload)
                chan.send(chan.client, reply.succeed)
            else:  # a route query
                chan.send(chan.client, reply.succeed, self.route)

    def register(self, chan, group):
        if group not in self.live:
            self.live[group] = (chan, self.env.now)
            self.route = tuple(sorted(self.live))
        else:
            self.live[group] = (chan, self.env.now)
        if not chan.idle_watched:
            chan.idle_watched = True
            self.env.process(self.idle_close(chan))

    def idle_close(self, chan):
        """Netty's IdleStateHandler: a channel without a read or write for 120 s is closed,
        and the broker whose last registration came over it is dropped."""
        while chan.open[self]:
            seen = chan.server_activity
            yield self.env.timeout(seen + CHANNEL_IDLE_S - self.env.now)
            if chan.server_activity == seen and chan.open[self]:
                chan.close(self)
                self.channel_closed(chan)

    def channel_closed(self, chan):
        for group, (live_chan, _) in list(self.live.items()):
            if live_chan is chan:
                self.remove(group)

    def scan(self):
        yield self.env.timeout(SCAN_INITIAL_DELAY_S)
        while True:
            for group, (chan, last) in list(self.live.items()):
                if last + BROKER_EXPIRY_S < self.env.now:
                    self.remove(group)
                    chan.close(self)
            yield self.env.timeout(SCAN_PERIOD_S)

    def remove(self, group):
        del self.live[group]
        self.route = tuple(sorted(self.live))
        self.metrics.removed(self.index, group)


class Broker(Node):
    def __init__(self, env, group, net, nameservers):
        super().__init__(env, "broker-" + "abcdefghijklmnopqrstuvwxyz"[group])
        self.group = group
        self.net = net
        self.nameservers = nameservers
        self.rng = net.rng
        self.inbox = simpy.Store(env)
        self.ns_chans = [None] * len(nameservers)
        self.registering = [False] * len(nameservers)

    def run(self, start):
        yield self.env.timeout(start)
        self.started = True
        self.env.process(self.serve())
        self.register_all()
        yield self.env.timeout(REGISTER_INITIAL_DELAY_S)
        while not self.powered_off:
            self.register_all()
            yield self.env.timeout(REGISTER_PERIOD_S)

    def serve(self):
        """Answers each send after its service time; the broker holds no queue of its own."""
        while True:
            chan, reply = yield self.inbox.get()
            service = self.rng.uniform(*SERVICE_TIME_S)
            chan.send(chan.client, reply.succeed, after=service)

    def register_all(self):
        """registerBrokerAll: one REGISTER_BROKER per NameServer in parallel; a NameServer
        whose previous one is still unanswered is skipped this round."""
        for i, ns in enumerate(self.nameservers):
            if self.registering[i]:
                continue
            if self.ns_chans[i] is None:
                self.ns_chans[i] = self.net.connect(self, ns)
                if self.ns_chans[i] is None:
                    continue
            self.registering[i] = True
            self.env.process(self.register(i, self.ns_chans[i]))

    def register(self, i, chan):
        reply = self.env.event()
        ns = self.nameservers[i]
        chan.send(ns, ns.inbox.put, (chan, ("register", self.group, reply)))
        result = yield reply | self.env.timeout(REGISTER_TIMEOUT_S)
        if reply not in result:
            # clientCloseSocketIfTimeout: a timed-out request closes its channel.
            chan.close(self)
            self.ns_chans[i] = None
        self.registering[i] = False

    def channel_closed(self, chan):
        if chan in self.ns_chans:
            self.ns_chans[self.ns_chans.index(chan)] = None


class Producer(Node):
    """A client process: its client instance (route cache, sticky NameServer, route poll) and
    its async producer."""

    def __init__(self, env, index, net, nameservers, brokers, metrics):
        super().__init__(env, f"p-{index}")
        self.index = index
        self.net = net
        self.rng = net.rng
        self.nameservers = nameservers
        self.brokers = brokers
        self.metrics = metrics
        self.route = ()  # broker groups of the cached route
        self.queues = []  # its write queues, broker by broker: the group of each
        self.counter = 0  # TopicPublishInfo's round-robin counter
        self.ns_cursor = 0
        self.ns_chan = None
        self.call = None  # the route call in progress
        self.broker_chans = [None] * len(brokers)

    def run(self, start):
        yield self.env.timeout(start)
        self.started = True
        self.ns_cursor = self.rng.randrange(len(self.nameservers))
        self.counter = self.rng.getrandbits(32)
        self.metrics.client_started(self)
        self.env.process(self.poll_routes())
        while True:
            yield self.env.timeout(self.rng.expovariate(RATE_PER_S))
            self.env.process(self.send())

    def poll_routes(self):
        yield self.env.timeout(ROUTE_POLL_INITIAL_DELAY_S)
        while True:
            self.query()
            yield self.env.timeout(ROUTE_POLL_S)

    def query(self):
        """updateTopicRouteInfoFromNameServer, unless a call is in progress: its process."""
        if self.call is None:
            self.call = self.env.process(self.route_call())
        return self.call

    def route_call(self):
        start = self.env.now
        # 4.x: with a broken channel, try each NameServer in turn within the call.
        for _ in self.nameservers:
            if self.ns_chan is not None:
                break
            self.ns_chan = self.net.connect(self, self.nameservers[self.ns_cursor])
            if self.ns_chan is None:
                self.ns_lost()
        if self.ns_chan is not None:
            chan, ns = self.ns_chan, self.ns_chan.server
            reply = self.env.event()
            chan.send(ns, ns.inbox.put, (chan, ("route", None, reply)))
            result = yield reply | self.env.timeout(CLIENT_API_TIMEOUT_S - (self.env.now - start))
            if reply in result:
                self.replace_route(result[reply])
            else:
                chan.close(self)
                self.ns_lost()
        self.call = None

    def ns_lost(self):
        self.ns_chan = None
        self.ns_cursor = (self.ns_cursor + 1) % len(self.nameservers)

    def replace_route(self, route):
        # TOPIC_NOT_EXIST (no broker listed) keeps the cached route.
        if not route or route == self.route:
            return
        self.route = route
        self.queues = [group for group in route for _ in range(QUEUES_PER_BROKER)]
        self.counter = self.rng.getrandbits(32)  # a new TopicPublishInfo starts at random
        self.metrics.route_changed(self, route)

    def channel_closed(self, chan):
        if chan is self.ns_chan:
            self.ns_lost()
        elif chan in self.broker_chans:
            self.broker_chans[self.broker_chans.index(chan)] = None

    def select_queue(self, last_failed):
        """selectOneMessageQueue: round-robin; on a retry, skip the broker that failed last."""
        n = len(self.queues)
        if last_failed is not None:
            for _ in range(n):
                self.counter += 1
                group = self.queues[self.counter % n]
                if group != last_failed:
                    return group
        self.counter += 1
        return self.queues[self.counter % n]

    def send(self):
        """sendDefaultImpl with CommunicationMode.ASYNC: attempts within one budget."""
        start = self.env.now
        if not self.route:
            yield self.query()
            if not self.route:
                self.metrics.send_done(self, start, ok=False, touched=False)
                return
        attempts, last_failed, touched = 0, None, False
        while True:
            elapsed = self.env.now - start
            if elapsed >= SEND_TIMEOUT_S or attempts > RETRIES:
                self.metrics.send_done(self, start, ok=False, touched=touched)
                return
            group = self.select_queue(last_failed)
            attempts += 1
            stale = self.metrics.attempt(self, group)
            broker, budget = self.brokers[group], SEND_TIMEOUT_S - elapsed
            chan = self.broker_chans[group]
            if chan is None:
                chan = self.broker_chans[group] = self.net.connect(self, broker)
            if chan is None:
                yield self.env.timeout(min(CONNECT_TIMEOUT_S, budget))
            else:
                reply = self.env.event()
                chan.send(broker, broker.inbox.put, (chan, reply))
                result = yield reply | self.env.timeout(budget)
                if reply in result:
                    self.metrics.send_done(self, start, ok=True, touched=touched)
                    return
                chan.close(self)
                if self.broker_chans[group] is chan:
                    self.broker_chans[group] = None
            self.metrics.attempt_failed(stale)
            touched = touched or stale
            last_failed = group


class Metrics:
    """What routesim's summary says of the run and of the power-off (README section Output)."""

    def __init__(self, env):
        self.env = env
        self.sends = self.failed_sends = self.attempts = self.failed_attempts = 0
        self.fault_at = None
        self.detection = {}  # NameServer -> seconds after the fault
        self.convergence = {}  # client holding broker-a at the fault -> seconds after it
        self.clients = []
        self.last_stale_attempt = None
        self.stale_attempts = self.stale_failed_attempts = 0
        self.stale_failed_sends = self.recovered_by_retry = 0
        self.added_ms = []

    def client_started(self, client):
        self.clients.append(client)

    def power_off(self):
        self.fault_at = self.env.now
        self.convergence = {c: None for c in self.clients if POWER_OFF_GROUP in c.route}

    def removed(self, ns, group):
        if group == POWER_OFF_GROUP and self.fault_at is not None and ns not in self.detection:
            self.detection[ns] = self.env.now - self.fault_at

    def route_changed(self, client, route):
        if self.convergence.get(client, 0) is None and POWER_OFF_GROUP not in route:
            self.convergence[client] = self.env.now - self.fault_at

    def attempt(self, client, group):
        """Counts an attempt; True when it goes to the powered-off broker (a stale attempt)."""
        self.attempts += 1
        stale = self.fault_at is not None and group == POWER_OFF_GROUP
        if stale:
            self.stale_attempts += 1
            self.last_stale_attempt = self.env.now
        return stale

    def attempt_failed(self, stale):
        self.failed_attempts += 1
        self.stale_failed_attempts += stale

    def send_done(self, client, start, ok, touched):
        self.sends += 1
        self.failed_sends += not ok
        if touched:
            if ok:
                self.recovered_by_retry += 1
            else:
                self.stale_failed_sends += 1
            self.added_ms.append((self.env.now - start) * 1e3)


def nearest_rank(values, q):
    """The percentile routesim reports (report.rs: nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def simulate(producers, seed):
    env = simpy.Environment()
    rng = random.Random(seed)
    net = Net(env, rng)
    metrics = Metrics(env)
    nameservers = [NameServer(env, i, metrics) for i in range(NAMESERVERS)]
    brokers = [Broker(env, g, net, nameservers) for g in range(BROKER_GROUPS)]
    clients = [Producer(env, i, net, nameservers, brokers, metrics) for i in range(producers)]
    for ns in nameservers:
        env.process(ns.run(rng.uniform(0, NAMESERVER_START_WINDOW_S)))
    for broker in brokers:
        env.process(broker.run(rng.uniform(0, START_WINDOW_S)))
    for client in clients:
        env.process(client.run(START_WINDOW_S + rng.uniform(0, START_WINDOW_S)))

    def power_off():
        yield env.timeout(POWER_OFF_AT_S)
        brokers[POWER_OFF_GROUP].powered_off = True
        metrics.power_off()

    env.process(power_off())
    env.run(until=DURATION_S)
    # SimPy numbers every event it schedules (Environment._eid); the ones still queued at the
    # end were never processed.
    events = next(env._eid) - len(env._queue)
    return metrics, events


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--producers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.producers < 1:
        parser.error("--producers must be at least 1")

    wall, cpu = time.perf_counter(), time.process_time()
    m, events = simulate(args.producers, args.seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    print(f"simpy {simpy.__version__} | {args.producers} producers seed {args.seed} ({DURATION_S:.0f}s): "
          f"{events} events, {m.sends} sends, {m.attempts} attempts, {m.failed_attempts} failed attempts, "
          f"{m.failed_sends} failed sends ({events / max(m.sends, 1):.1f} events per send)")
    detection = [m.detection[ns] for ns in sorted(m.detection)]
    converged = [c for c in m.convergence.values() if c is not None]
    never = len(m.convergence) - len(converged)
    stale_s = m.last_stale_attempt - m.fault_at if m.last_stale_attempt is not None else float("nan")
    print("fault            kind               at_s   detection_s min..max    convergence_s p50/p99/max"
          "     never   stale_s   failed recovered added_ms p50/p99")
    print(f"broker-a         crash:power-off   {m.fault_at:6.1f}"
          f"     {min(detection, default=float('nan')):5.1f}..{max(detection, default=float('nan')):5.1f}"
          f" ({len(detection)}/{NAMESERVERS})"
          f"            {nearest_rank(converged, 0.5):5.1f}/{nearest_rank(converged, 0.99):5.1f}"
          f"/{nearest_rank(converged, 1.0):5.1f}"
          f"   {never:>4}/{len(m.convergence)}   {stale_s:7.1f} {m.stale_failed_sends}/{m.stale_failed_attempts}"
          f"   {m.recovered_by_retry:>7}   {nearest_rank(m.added_ms, 0.5):6.0f}/{nearest_rank(m.added_ms, 0.99):.0f}")
    print(f"{wall:.2f} s wall, {cpu:.2f} s CPU, {m.sends / cpu:.0f} sends per CPU-second, "
          f"{events / cpu:.0f} events per CPU-second")


if __name__ == "__main__":
    main()
