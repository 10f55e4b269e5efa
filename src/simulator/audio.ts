/**
 * Audio for the simulated engines: a speech-like signal whose length follows the text (a voiced
 * buzz through two vowel formants per syllable, silent gaps between words), a resampler, and
 * optionally real speech from espeak-ng when it is installed.
 */
import { spawn } from 'child_process';
import { promises as fsp, constants as fsConstants } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeWav } from '../api/wav';

/** First and second formant frequencies (Hz) of a few vowels. */
const VOWEL_FORMANTS: ReadonlyArray<[number, number]> = [
  [730, 1090], // a
  [530, 1840], // e
  [270, 2290], // i
  [570, 840], // o
  [300, 870], // u
  [660, 1720], // ae
];

/** A small deterministic hash (FNV-1a) so that a voice always sounds the same. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The fundamental frequency a voice name speaks at (female-ish names higher). */
export function voicePitchHz(voice: string): number {
  const base = /female|woman|girl|amy|ljspeech/i.test(voice) ? 200 : 115;
  return base + (hash(voice) % 30);
}

/**
 * Synthesises `seconds` of a speech-like signal for `text`. Each letter drives a short vowel-like
 * segment; spaces and punctuation become short silences, so the waveform has word structure.
 */
export function synthesizeSpeech(text: string, opts: { sampleRate: number; seconds: number; voice: string }): Float32Array {
  const total = Math.max(1, Math.round(opts.seconds * opts.sampleRate));
  const out = new Float32Array(total);
  const symbols = [...text].filter((c) => c.trim() !== '' || c === ' ');
  const units = symbols.length > 0 ? symbols : ['a'];
  const perUnit = total / units.length;
  const f0 = voicePitchHz(opts.voice);
  const sr = opts.sampleRate;
  const harmonics = Math.max(1, Math.min(24, Math.floor(3500 / f0)));
  let phase = 0;
  for (let u = 0; u < units.length; u++) {
    const start = Math.floor(u * perUnit);
    const end = Math.min(total, Math.floor((u + 1) * perUnit));
    const ch = units[u];
    const silent = !/\p{L}|\p{N}/u.test(ch);
    if (silent) {
      // Keep the phase running so the next syllable starts without a click.
      phase += ((end - start) * f0) / sr;
      continue;
    }
    const [f1, f2] = VOWEL_FORMANTS[hash(ch.toLowerCase()) % VOWEL_FORMANTS.length];
    const len = end - start;
    for (let i = start; i < end; i++) {
      const local = (i - start) / Math.max(1, len);
      // Raised-cosine envelope per syllable, with a gentle pitch glide.
      const env = 0.5 - 0.5 * Math.cos(2 * Math.PI * local);
      const glide = 1 + 0.06 * Math.sin(Math.PI * local);
      phase += (f0 * glide) / sr;
      let s = 0;
      for (let h = 1; h <= harmonics; h++) {
        const freq = h * f0;
        const w1 = 1 / (1 + ((freq - f1) / 120) ** 2);
        const w2 = 0.6 / (1 + ((freq - f2) / 160) ** 2);
        s += (w1 + w2 + 0.02) * Math.sin(2 * Math.PI * h * (phase % 1));
      }
      out[i] = 0.25 * env * s;
    }
  }
  // Normalise to a comfortable peak.
  let peak = 0;
  for (let i = 0; i < out.length; i++) peak = Math.max(peak, Math.abs(out[i]));
  if (peak > 0) {
    const gain = 0.6 / peak;
    for (let i = 0; i < out.length; i++) out[i] *= gain;
  }
  return out;
}

/** Linear-interpolation resampling (good enough for test audio). */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return samples;
  const outLength = Math.max(1, Math.round((samples.length * toRate) / fromRate));
  const out = new Float32Array(outLength);
  const step = fromRate / toRate;
  for (let i = 0; i < outLength; i++) {
    const pos = i * step;
    const j = Math.floor(pos);
    const frac = pos - j;
    const a = samples[Math.min(j, samples.length - 1)];
    const b = samples[Math.min(j + 1, samples.length - 1)];
    out[i] = a + (b - a) * frac;
  }
  return out;
}

export function concatSamples(parts: Float32Array[]): Float32Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new Float32Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

let espeakLookup: Promise<string | undefined> | undefined;

/** The path of `espeak-ng` on PATH, if there is one (looked up once). */
export function findEspeak(): Promise<string | undefined> {
  if (!espeakLookup) {
    espeakLookup = (async () => {
      const names = process.platform === 'win32' ? ['espeak-ng.exe'] : ['espeak-ng'];
      for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
        if (!dir) continue;
        for (const name of names) {
          const candidate = path.join(dir, name);
          try {
            await fsp.access(candidate, fsConstants.X_OK);
            return candidate;
          } catch {
            // not here
          }
        }
      }
      return undefined;
    })();
  }
  return espeakLookup;
}

/**
 * Speaks `text` with espeak-ng (`espeak-ng -w out.wav -f text.txt`) and returns mono samples at
 * `sampleRate`, stretched to `speed`. Undefined when espeak-ng is missing or fails.
 */
export async function speakWithEspeak(
  text: string,
  opts: { language: string; speed: number; sampleRate: number; voice: string },
): Promise<Float32Array | undefined> {
  const binary = await findEspeak();
  if (!binary || text.trim() === '') return undefined;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'alltalk-sim-espeak-'));
  try {
    const textFile = path.join(dir, 'text.txt');
    const wavFile = path.join(dir, 'speech.wav');
    await fsp.writeFile(textFile, text, 'utf8');
    const wordsPerMinute = String(Math.round(Math.min(450, Math.max(80, 175 * opts.speed))));
    const espeakVoice = opts.language === 'zh-cn' ? 'cmn' : opts.language;
    // Higher voices for higher-pitched voice names, so two voices are told apart.
    const pitch = String(Math.round(Math.min(99, Math.max(0, (voicePitchHz(opts.voice) - 90) / 2))));
    const args = ['-v', espeakVoice, '-s', wordsPerMinute, '-p', pitch, '-w', wavFile, '-f', textFile];
    const ok = await new Promise<boolean>((resolve) => {
      const child = spawn(binary, args, {
        stdio: 'ignore',
      });
      child.on('error', () => resolve(false));
      child.on('close', (code) => resolve(code === 0));
    });
    if (!ok) return undefined;
    const { info, samples } = decodeWav(await fsp.readFile(wavFile));
    const mono = info.channels > 1 ? downmix(samples, info.channels) : samples;
    return resample(mono, info.sampleRate, opts.sampleRate);
  } catch {
    return undefined;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function downmix(samples: Float32Array, channels: number): Float32Array {
  const frames = Math.floor(samples.length / channels);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += samples[i * channels + c];
    out[i] = s / channels;
  }
  return out;
}
