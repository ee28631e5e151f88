// One WebSocket session of fieldsync.v1: open, hello, then messages in and out, with a
// heartbeat: a ping every pingIntervalMs, and a socket that stays silent pongTimeoutMs
// after a ping is declared dead and dropped without waiting for TCP (a phone that lost
// its network keeps a socket "open" for minutes).
import { parseFrame, type ServerMessage } from './wire.js';

export interface SessionOptions {
  url: string;
  token: string;
  clientId: string;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  webSocket: typeof WebSocket;
}

export interface SessionClose {
  code: number;
  reason: string;
  opened: boolean; // the socket opened (else: it could not be opened at all)
  welcomed: boolean;
}

export interface SessionHandlers {
  welcome(session: SocketSession): void;
  messages(session: SocketSession, messages: ServerMessage[]): void;
  closed(session: SocketSession, info: SessionClose): void;
}

// Client-side close codes (4000-4999 are the application's).
export const heartbeatTimeout = 4900;
export const clientClose = 4901;

export class SocketSession {
  private readonly ws: WebSocket;
  private opened = false;
  private welcomed = false;
  private finished = false;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private pingId = 0;

  constructor(private readonly options: SessionOptions, private readonly handlers: SessionHandlers) {
    this.ws = new options.webSocket(options.url, 'fieldsync.v1');
    this.ws.onopen = () => {
      this.opened = true;
      this.send({ type: 'hello', token: options.token, client_id: options.clientId, protocol: 1 });
      this.pingTimer = setInterval(() => this.ping(), options.pingIntervalMs);
    };
    this.ws.onmessage = (ev: MessageEvent) => {
      this.heard();
      if (typeof ev.data !== 'string') return;
      const messages = parseFrame(ev.data);
      if (!messages) return;
      if (!this.welcomed && messages.some((m) => m.type === 'welcome')) {
        this.welcomed = true;
        this.handlers.welcome(this);
      }
      const rest = messages.filter((m) => m.type !== 'welcome' && m.type !== 'pong');
      if (rest.length) this.handlers.messages(this, rest);
    };
    this.ws.onclose = (ev: CloseEvent) => this.finish(ev.code, ev.reason);
    this.ws.onerror = () => {
      // A close event follows with the details.
    };
  }

  get isOpen(): boolean {
    return this.opened && !this.finished && this.ws.readyState === 1;
  }

  get isWelcomed(): boolean {
    return this.welcomed && !this.finished && this.ws.readyState === 1;
  }

  send(message: object): boolean {
    if (this.finished || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  // A liveness check now (after visibilitychange or online): a dead socket is dropped
  // within pongTimeoutMs.
  ping(): void {
    if (!this.send({ type: 'ping', id: ++this.pingId })) return;
    if (!this.pongTimer) {
      this.pongTimer = setTimeout(() => {
        try {
          this.ws.close(heartbeatTimeout, 'heartbeat timeout');
        } catch {
          // closing anyway
        }
        this.finish(heartbeatTimeout, 'no answer to ping');
      }, this.options.pongTimeoutMs);
    }
  }

  close(code = clientClose, reason = 'closed by the client'): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // not open yet
    }
    this.finish(code, reason);
  }

  private heard(): void {
    if (this.pongTimer) {
      clearTimeout(this.pongTimer);
      this.pongTimer = null;
    }
  }

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.heard();
    this.ws.onmessage = null;
    this.handlers.closed(this, { code, reason, opened: this.opened, welcomed: this.welcomed });
  }
}
