/** The AllTalk v2 simulator: a local server that behaves like AllTalk, for tests and demos. */
export { AllTalkSimulator } from './server';
export type { SimulatorMode, SimulatorOptions, ResolvedOptions } from './options';
export type { FaultReply } from './faults';
export type { RecordedRequest } from './route-context';
export type { GenerationRecord, GenerationOutcome, SimulatedEngine } from './engine';
export {
  DEFAULT_RVC_VOICES,
  OPENAI_VOICES,
  SETTINGS_KEYS,
  engineProfile,
  type ApiConfig,
  type CurrentSettings,
  type EngineProfile,
  type OpenAiVoice,
  type ProfileName,
} from './profiles';
