// Between the connections and the slots: each server's state (connected, failing, the lines said
// about it) and, per server, which idle connection sleeps. WorkerLink events arrive here and go on
// to the slot that owns the connection.
//
// Per server, one idle connection sleeps (PRE_SLEEP) and is woken by NOOP. The other idle slots'
// connections stay awake but silent, so a job wakes one slot, not every idle one (gearmand NOOPs
// every sleeping connection that can do the function). When the sleeper takes a job, another idle
// slot is asked to grab and, finding nothing, becomes the sleeper: a burst spreads over every idle
// slot one round trip apart.
import type { Logger } from 'pino';
import type { WorkerLink, WorkerLinkEvents } from '../gearman/workerLink.js';
import type { WorkerObserver } from './events.js';
import { UNREACHABLE_LOG_INTERVAL_MS } from './options.js';
import type { Slot } from './slot.js';

interface ServerState {
  readonly name: string;
  /** This worker's registered connections to it. */
  connected: number;
  /** Connect attempts failed in a row. */
  failures: number;
  lastWarnAt: number;
  everConnected: boolean;
}

export class Dispatch {
  private readonly servers = new Map<string, ServerState>();
  /** Per server, the connection that sleeps (PRE_SLEEP) for all the idle slots. */
  private readonly sleepers = new Map<string, WorkerLink>();
  /** Connections registered at least once, to say when every one of them is (once). */
  private readonly everRegistered = new Set<WorkerLink>();

  constructor(
    serverNames: readonly string[],
    private readonly slots: readonly Slot[],
    private readonly log: Logger,
    private readonly observers: readonly WorkerObserver[],
  ) {
    for (const name of serverNames) this.servers.set(name, { name, connected: 0, failures: 0, lastWarnAt: 0, everConnected: false });
  }

  /** Servers with at least one registered connection. */
  connectedServers(): string[] {
    return [...this.servers.values()].filter((server) => server.connected > 0).map((server) => server.name);
  }

  /** The events of `slot`'s connections. */
  eventsFor(slot: Slot): WorkerLinkEvents {
    return {
      ready: (link) => this.onReady(slot, link),
      job: (link, job) => {
        // A busy slot cannot sleep for the others: hand its sleeper roles (on any server) to idle slots.
        for (const own of slot.links) {
          if (this.sleepers.get(own.name) === own) {
            this.sleepers.delete(own.name);
            if (own !== link) this.findSleeper(own.name, slot);
          }
        }
        // Nobody sleeps on this server now: the next idle slot grabs; with work queued it takes a job
        // and asks the next, so a burst spreads over every idle slot.
        if (!this.sleepers.has(link.name)) this.findSleeper(link.name, slot);
        slot.onJob(link, job);
      },
      noJob: (link) => {
        slot.onNoJob(link);
        const sleeper = this.sleepers.get(link.name);
        if (sleeper === undefined || sleeper === link) {
          this.sleepers.set(link.name, link);
          link.sleep();
        }
        slot.grabNext();
      },
      wake: (link) => slot.onMayHaveWork(link),
      down: (link, error, retryInMs, wasConnected) => {
        this.onDown(link, error, retryInMs, wasConnected);
        if (this.sleepers.get(link.name) === link) {
          this.sleepers.delete(link.name);
          this.findSleeper(link.name, slot);
        }
        slot.onDown(link);
      },
      serverError: (link, code, message) => {
        this.log.error({ server: link.name, code, err: message }, 'job server sent ERROR');
      },
    };
  }

  private onReady(slot: Slot, link: WorkerLink): void {
    const server = this.servers.get(link.name)!;
    const reconnect = server.everConnected && server.connected === 0;
    server.connected++;
    if (server.connected === 1) {
      this.log.info({ server: link.name, failed_attempts: server.failures }, reconnect ? 'reconnected to job server; abilities registered again' : 'connected to job server; abilities registered');
      for (const observer of this.observers) {
        observer.serverChanged?.(link.name, true, reconnect);
        if (reconnect) observer.reconnected?.(link.name);
      }
    }
    server.everConnected = true;
    server.failures = 0;
    this.log.debug({ server: link.name, slot: slot.index }, 'slot connection registered');
    const total = this.slots.length * this.servers.size;
    if (this.everRegistered.size < total) {
      this.everRegistered.add(link);
      if (this.everRegistered.size === total) {
        this.log.info({ connections: total }, 'registered on every connection');
        for (const observer of this.observers) observer.registered?.(total);
      }
    }
    slot.onMayHaveWork(link);
  }

  private onDown(link: WorkerLink, error: Error | undefined, retryInMs: number | undefined, wasConnected: boolean): void {
    const server = this.servers.get(link.name)!;
    if (wasConnected) {
      server.connected = Math.max(0, server.connected - 1);
      if (server.connected === 0 && retryInMs !== undefined) {
        this.log.warn({ server: link.name, err: error?.message, retry_in_ms: retryInMs }, 'lost connection to job server; reconnecting');
        for (const observer of this.observers) observer.serverChanged?.(link.name, false, false);
      }
    } else if (retryInMs !== undefined) {
      server.failures++;
      const now = Date.now();
      // Bounded: the first failure of a server, then one line per interval, however many connections retry.
      if (server.failures === 1 || now - server.lastWarnAt >= UNREACHABLE_LOG_INTERVAL_MS) {
        server.lastWarnAt = now;
        this.log.warn({ server: link.name, err: error?.message, failed_attempts: server.failures, retry_in_ms: retryInMs }, 'job server unreachable; retrying');
      }
    }
  }

  /** Ask an idle slot (other than `except`) to grab on `server`; finding nothing, it becomes the sleeper. */
  private findSleeper(server: string, except: Slot): void {
    for (const candidate of this.slots) {
      if (candidate === except) continue;
      const link = candidate.links.find((l) => l.name === server);
      if (link && candidate.tryAsSleeper(link)) return;
    }
  }
}
