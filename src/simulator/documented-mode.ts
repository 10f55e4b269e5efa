/**
 * Documented mode: the server as AllTalk's own API documentation describes it, where that differs
 * from the real v2 server. Decided from the documentation pages (API status page, server control,
 * TTS generation, streaming, OpenAI-compatible endpoint); where the documentation is silent, the
 * real behaviour is kept.
 *
 * Differences implemented:
 *  1. GET /api/rvcvoices answers `{"status":"success","voices":[...]}` (key `voices`, not
 *     `rvcvoices`) with entries written `folder\voice.pth` as in the documented example. RVC
 *     names sent back with either separator are accepted.
 *  2. GET /api/ready answers `Unloaded` while the engine loads instead of hanging or refusing:
 *     during /api/reload, DeepSpeed and LowVRAM changes, and during start-up (with `startupMs` the
 *     socket is open and the engine loads behind it; every other route waits for the load).
 *  3. POST /api/reload with an unknown or missing `tts_method` answers 200
 *     `{"status":"model-failure"}` (the documented failure) instead of 500 text/plain.
 *  4. POST /api/deepspeed and /api/lowvramsetting send `Content-Type: application/json`, and a valid
 *     request answers the documented `{"status":"deepspeed-success"}` / `{"status":"lowvram-success"}`
 *     (no `message` key, also when the value was already set).
 *  5. POST /api/tts-generate reports every failure as `{"status":"generate-failure","error":"..."}`
 *     (the documented failure body) with the same HTTP status the real server uses: validation
 *     (422 and 400), engine errors (E2 `detail` bodies) and generation errors.
 *  6. POST /api/tts-generate enforces the documented RVC pitch range −24..24.
 *  7. GET /api/voices always answers `{"status":"success","voices":[...]}`, also for an engine that
 *     is not multivoice.
 *  8. POST /v1/audio/speech gives readable errors, as the handler intends: 400
 *     `{"error":"Invalid value: ..."}` for invalid JSON, a failed validation, an unknown voice, an
 *     undetectable language or an unsupported `response_format`; 500
 *     `{"error":"An internal runtime error occurred"}` when generation fails. Engine HTTP errors stay
 *     E2 `{"detail":...}` as in real mode.
 *
 * Kept as the real server does it (the documentation is silent or agrees): the plain-text bodies of
 * /api/ready and /api/reload_config without a Content-Type, the streaming routes (GET streams, POST
 * writes `<output_file>.wav`), /api/enginereload, /api/openai-voicemap, /api/previewvoice/, the
 * legacy absolute URLs (a configuration switch), and the file routes.
 */

/** An RVC model path as the documentation writes it (`folder\voice.pth`). */
export function documentedRvcVoiceName(name: string): string {
  return name.replace(/\//g, '\\');
}

/** The documented failure body of /api/tts-generate. */
export function generateFailure(error: string): { status: 'generate-failure'; error: string } {
  return { status: 'generate-failure', error };
}
