/** The AllTalk v2 client: no Node-RED imports here. */
export * from './audio-format';
export { Cancellation, type CancelSignal } from './cancellation';
export * from './client';
export * from './errors';
export * from './openai-audio';
export { checkHeaderName, checkHeaderValue } from './request-headers';
export * from './rules';
export { encodePath } from './server-path';
export { DEFAULT_MAX_AUDIO_BYTES, JSON_LIMIT_BYTES, Transport } from './transport';
export * from './types';
export * from './validation';
export * from './wav';
export { packageVersion } from './version';
