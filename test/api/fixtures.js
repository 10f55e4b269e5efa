'use strict';
// Shared tables for the api tests (not a spec file: mocha loads only *.test.js).

/** For each /api/tts-generate field: values the client must refuse. */
const BAD_VALUES = {
  text_filtering: ['markdown', 3],
  character_voice_gen: ['a<b.wav', 'x|y', 'what?.wav'],
  rvccharacter_voice_gen: [{ name: 'x.pth' }, ['x.pth'], true],
  rvccharacter_pitch: [25, -24.5, 'high'],
  narrator_enabled: ['maybe', 'on', 1],
  narrator_voice_gen: ['say "hi"', '*.wav'],
  rvcnarrator_voice_gen: [{}, false],
  rvcnarrator_pitch: [-25, 'low'],
  text_not_inside: ['both', 'quotes'],
  language: ['xx', 'english', 42],
  output_file_name: ['my-file', 'my file', 'out.wav', 'café'],
  output_file_timestamp: ['maybe', 2],
  autoplay: ['maybe', {}],
  autoplay_volume: [0.05, 1.5, 'loud'],
  speed: [0.2, 2.5, 'fast'],
  pitch: [-11, 10.5],
  temperature: [0.05, 1.01],
  repetition_penalty: [0.9, 20.5],
};

/** For each field: [a good value, the form string the server must receive]. */
const GOOD_VALUES = {
  text_filtering: ['html', 'html'],
  character_voice_gen: ['female_01.wav', 'female_01.wav'],
  rvccharacter_voice_gen: ['folder/voice.pth', 'folder/voice.pth'],
  rvccharacter_pitch: [-12, '-12'],
  narrator_enabled: [true, 'true'],
  narrator_voice_gen: ['male_01.wav', 'male_01.wav'],
  rvcnarrator_voice_gen: ['Disabled', 'Disabled'],
  rvcnarrator_pitch: ['5', '5'],
  text_not_inside: ['Narrator', 'narrator'],
  language: ['fr', 'fr'],
  output_file_name: ['my_file', 'my_file'],
  output_file_timestamp: [false, 'false'],
  autoplay: ['true', 'true'],
  autoplay_volume: [0.8, '0.8'],
  speed: [1.25, '1.25'],
  pitch: [-2, '-2'],
  temperature: [0.75, '0.75'],
  repetition_penalty: [10, '10'],
};

function shown(v) {
  if (v === undefined) return 'undefined';
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  return JSON.stringify(v);
}

/** A full, Piper-like /api/currentsettings reply (24 keys), with overrides. */
function settingsWith(overrides = {}) {
  return {
    engines_available: ['parler', 'piper', 'vits', 'xtts'],
    current_engine_loaded: 'piper',
    models_available: [{ name: 'piper' }],
    current_model_loaded: 'piper',
    manufacturer_name: 'rhasspy',
    audio_format: 'wav',
    deepspeed_capable: false,
    deepspeed_available: false,
    deepspeed_enabled: false,
    generationspeed_capable: true,
    generationspeed_set: 1,
    lowvram_capable: false,
    lowvram_enabled: false,
    pitch_capable: false,
    pitch_set: 0,
    repetitionpenalty_capable: false,
    repetitionpenalty_set: 10,
    streaming_capable: false,
    temperature_capable: false,
    temperature_set: 0.75,
    ttsengines_installed: true,
    languages_capable: false,
    multivoice_capable: true,
    multimodel_capable: true,
    ...overrides,
  };
}

module.exports = { BAD_VALUES, GOOD_VALUES, shown, settingsWith };
