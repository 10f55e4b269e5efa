/** The AllTalk v2 client: no Node-RED imports here. */
export * from './audio-format';
export * from './client';
export * from './errors';
export * from './rules';
export * from './types';
export * from './validation';
export * from './wav';
export { packageVersion } from './version';
