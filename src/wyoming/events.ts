/**
 * The Wyoming events a text-to-speech server speaks (OHF-Voice/wyoming: info.py, tts.py, audio.py,
 * error.py, ping.py), as Home Assistant's `wyoming` integration sends and expects them. No Node-RED
 * imports.
 */
import type { WyomingEvent } from './framing';

export const EVENT = {
  describe: 'describe',
  info: 'info',
  synthesize: 'synthesize',
  synthesizeStart: 'synthesize-start',
  synthesizeChunk: 'synthesize-chunk',
  synthesizeStop: 'synthesize-stop',
  synthesizeStopped: 'synthesize-stopped',
  audioStart: 'audio-start',
  audioChunk: 'audio-chunk',
  audioStop: 'audio-stop',
  error: 'error',
  ping: 'ping',
  pong: 'pong',
} as const;

export interface Attribution {
  name: string;
  url: string;
}

/** A voice as `info` lists it. */
export interface TtsVoice {
  name: string;
  attribution: Attribution;
  installed: boolean;
  description: string | null;
  version: string | null;
  languages: string[];
  speakers: { name: string }[] | null;
}

/** A text-to-speech program as `info` lists it. */
export interface TtsProgram {
  name: string;
  attribution: Attribution;
  installed: boolean;
  description: string | null;
  version: string | null;
  voices: TtsVoice[];
  supports_synthesize_streaming: boolean;
}

/** `info`: this server offers text to speech only. */
export function infoEvent(tts: TtsProgram[]): WyomingEvent {
  return { type: EVENT.info, data: { asr: [], tts, handle: [], intent: [], wake: [], mic: [], snd: [] } };
}

export interface AudioFormat {
  rate: number;
  /** Bytes per sample. */
  width: number;
  channels: number;
}

export function audioStart(f: AudioFormat): WyomingEvent {
  return { type: EVENT.audioStart, data: { rate: f.rate, width: f.width, channels: f.channels } };
}

export function audioChunk(f: AudioFormat, pcm: Buffer): WyomingEvent {
  return { type: EVENT.audioChunk, data: { rate: f.rate, width: f.width, channels: f.channels }, payload: pcm };
}

export function audioStop(): WyomingEvent {
  return { type: EVENT.audioStop, data: {} };
}

export function errorEvent(text: string, code?: string): WyomingEvent {
  return { type: EVENT.error, data: code ? { text, code } : { text } };
}

/** The voice a request asks for (`synthesize` or `synthesize-start`), each part only when it is text. */
export interface RequestedVoice {
  name?: string;
  language?: string;
  speaker?: string;
}

export function requestedVoice(data: Record<string, unknown>): RequestedVoice | undefined {
  const v = data.voice;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const text = (x: unknown) => (typeof x === 'string' && x.trim() ? x.trim() : undefined);
  const voice = v as Record<string, unknown>;
  const out: RequestedVoice = { name: text(voice.name), language: text(voice.language), speaker: text(voice.speaker) };
  return out.name || out.language || out.speaker ? out : undefined;
}

/** The text of `synthesize` or `synthesize-chunk`, or undefined when it has none. */
export function textOf(data: Record<string, unknown>): string | undefined {
  return typeof data.text === 'string' ? data.text : undefined;
}
