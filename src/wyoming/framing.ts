/**
 * The Wyoming protocol's framing (OHF-Voice/wyoming, event.py): every event is one JSON header line
 * ending in "\n" — `{type, data?, data_length?, payload_length?, version?}` — then `data_length`
 * bytes of UTF-8 JSON merged over the header's `data`, then `payload_length` bytes of payload (PCM
 * audio). Missing data is `{}`. A reader takes bytes as TCP delivers them: several events in one
 * packet, one event across several. No Node-RED imports.
 */

/** One event. */
export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload?: Buffer;
}

/** The protocol version this package speaks (the reference library's, whose events it mirrors). */
export const PROTOCOL_VERSION = '1.7.2';

export interface FrameLimits {
  /** Longest header line, bytes (default 64 KB). */
  maxHeaderBytes: number;
  /** Largest data block and largest payload, bytes each (default 1 MB). */
  maxBodyBytes: number;
}

export const DEFAULT_LIMITS: FrameLimits = { maxHeaderBytes: 64 * 1024, maxBodyBytes: 1024 * 1024 };

/** What makes a stream of bytes not Wyoming: the reader cannot go on after it. */
export class WyomingProtocolError extends Error {
  /** The whole events that came before the fault in the same bytes (they are still to be handled). */
  events: WyomingEvent[] = [];

  constructor(
    message: string,
    /** A short machine-readable code for the error event. */
    readonly code: 'header-too-long' | 'body-too-large' | 'malformed-header' | 'malformed-data',
  ) {
    super(message);
    this.name = 'WyomingProtocolError';
  }
}

const NEWLINE = 0x0a;

/**
 * Turns bytes into events. `push` returns the events complete so far (possibly none); after a
 * WyomingProtocolError it takes nothing more (the connection must be closed).
 */
export class EventReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private pending: { type: string; data: Record<string, unknown>; dataLength: number; payloadLength: number } | undefined;
  private failed = false;
  /** How many buffered bytes are known to hold no newline. */
  private searched = 0;

  constructor(private readonly limits: FrameLimits = DEFAULT_LIMITS) {}

  push(chunk: Buffer): WyomingEvent[] {
    if (this.failed) return [];
    this.buffered.push(chunk);
    this.size += chunk.length;
    const events: WyomingEvent[] = [];
    try {
      for (let event = this.next(); event; event = this.next()) events.push(event);
    } catch (err) {
      this.failed = true;
      this.buffered = [];
      this.size = 0;
      if (err instanceof WyomingProtocolError) err.events = events;
      throw err;
    }
    return events;
  }

  /** Bytes held that do not make a whole event yet. */
  get bufferedBytes(): number {
    return this.size;
  }

  private next(): WyomingEvent | undefined {
    if (!this.pending) {
      const header = this.takeLine();
      if (header === undefined) return undefined;
      this.pending = parseHeader(header, this.limits);
    }
    const { dataLength, payloadLength } = this.pending;
    if (this.size < dataLength + payloadLength) return undefined;
    const { type } = this.pending;
    let data = this.pending.data;
    this.pending = undefined;
    if (dataLength > 0) data = { ...data, ...parseData(this.take(dataLength)) };
    const event: WyomingEvent = { type, data };
    if (payloadLength > 0) event.payload = this.take(payloadLength);
    return event;
  }

  /** The next line without its newline, or undefined while it is not complete. */
  private takeLine(): Buffer | undefined {
    // Bytes already searched for the newline stay searched: a long line in small pieces costs once.
    let seen = 0;
    for (const part of this.buffered) {
      const from = Math.max(0, this.searched - seen);
      const at = from < part.length ? part.indexOf(NEWLINE, from) : -1;
      if (at >= 0) {
        if (seen + at > this.limits.maxHeaderBytes) throw headerTooLong(this.limits);
        const line = this.take(seen + at + 1);
        return line.subarray(0, line.length - 1);
      }
      seen += part.length;
    }
    this.searched = seen;
    if (seen > this.limits.maxHeaderBytes) throw headerTooLong(this.limits);
    return undefined;
  }

  /** Takes `n` buffered bytes (there are at least n). */
  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered, this.size);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.size = rest.length;
    this.searched = 0;
    // A copy: the rest of the socket's buffer is not kept alive by a small event.
    return Buffer.from(taken);
  }
}

function headerTooLong(limits: FrameLimits): WyomingProtocolError {
  return new WyomingProtocolError(`An event header line is longer than ${limits.maxHeaderBytes} bytes.`, 'header-too-long');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function length(header: Record<string, unknown>, key: string, limits: FrameLimits): number {
  const v = header[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new WyomingProtocolError(`The event header's ${key} is not a byte count.`, 'malformed-header');
  }
  if (v > limits.maxBodyBytes) {
    throw new WyomingProtocolError(`The event's ${key} (${v} bytes) is over ${limits.maxBodyBytes} bytes.`, 'body-too-large');
  }
  return v;
}

function parseHeader(line: Buffer, limits: FrameLimits): { type: string; data: Record<string, unknown>; dataLength: number; payloadLength: number } {
  let header: unknown;
  try {
    header = JSON.parse(line.toString('utf8'));
  } catch {
    throw new WyomingProtocolError('An event header is not JSON.', 'malformed-header');
  }
  if (!isObject(header) || typeof header.type !== 'string' || !header.type) {
    throw new WyomingProtocolError('An event header is not an object with a "type".', 'malformed-header');
  }
  const data = header.data === undefined || header.data === null ? {} : header.data;
  if (!isObject(data)) throw new WyomingProtocolError('An event header\'s "data" is not an object.', 'malformed-header');
  return { type: header.type, data, dataLength: length(header, 'data_length', limits), payloadLength: length(header, 'payload_length', limits) };
}

function parseData(bytes: Buffer): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new WyomingProtocolError('An event\'s data block is not JSON.', 'malformed-data');
  }
  if (!isObject(data)) throw new WyomingProtocolError('An event\'s data block is not a JSON object.', 'malformed-data');
  return data;
}

/**
 * The bytes of one event, as the reference writer sends them: the data in its own block (its
 * length in the header), the lengths left out when zero, the version in the header.
 */
export function encodeEvent(event: { type: string; data?: Record<string, unknown>; payload?: Buffer }): Buffer {
  const header: Record<string, unknown> = { type: event.type, version: PROTOCOL_VERSION };
  const data = event.data && Object.keys(event.data).length ? Buffer.from(JSON.stringify(event.data), 'utf8') : undefined;
  if (data) header.data_length = data.length;
  if (event.payload?.length) header.payload_length = event.payload.length;
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify(header)}\n`, 'utf8')];
  if (data) parts.push(data);
  if (event.payload?.length) parts.push(event.payload);
  return Buffer.concat(parts);
}
