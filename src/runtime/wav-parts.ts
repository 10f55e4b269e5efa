/**
 * Joins the WAV parts of a split text as they arrive, in memory or straight into a file, so that
 * only one part is held at a time and the total never passes the configured audio limit. Every
 * part is converted to the first part's rate, channels and sample encoding.
 */
import { promises as fsp, type promises } from 'node:fs';
import * as path from 'node:path';
import { AllTalkError } from '../api/errors';
import { megabytes } from '../api/server-errors';
import { convertWavData, parseWav, WavFormatError, wavHeader, type WavInfo, type WavTarget, wavTarget } from '../api/wav';
import { fileError, removeQuietly, temporaryName } from './audio-file';

const HEADER_BYTES = 44;

/** The bytes a part's audio takes once converted to the target's rate, channels and encoding. */
function convertedSize(info: WavInfo, target: WavTarget): number {
  const frames = Math.floor(info.dataLength / (info.channels * (info.bitsPerSample / 8)));
  const outFrames = Math.ceil((frames * target.sampleRate) / info.sampleRate);
  return outFrames * target.channels * (target.encoding === 'f32' ? 4 : 2);
}

abstract class WavParts {
  protected target: WavTarget | undefined;
  protected dataBytes = 0;
  private count = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly totalParts: number,
  ) {}

  /** Converts one part and hands its audio on; refuses a part that would pass the limit. */
  async add(part: Buffer): Promise<void> {
    let data: Buffer;
    this.count++;
    try {
      this.target ??= wavTarget(part);
      // What the part becomes in the target format is worked out first: a part may not make the
      // joined audio pass the limit, nor take more memory than that to convert.
      if (HEADER_BYTES + this.dataBytes + convertedSize(parseWav(part), this.target) > this.maxBytes) throw this.tooLarge();
      data = convertWavData(part, this.target);
    } catch (err) {
      if (err instanceof WavFormatError || err instanceof RangeError) {
        throw new AllTalkError('invalid-response', `Part ${this.count} of the long text could not be joined: ${err.message}.`);
      }
      throw err;
    }
    await this.append(data);
    this.dataBytes += data.length;
  }

  private tooLarge(): AllTalkError {
    return new AllTalkError('too-large',
      `The long text makes more than ${megabytes(this.maxBytes)} of audio (the "Max audio size" of the server configuration); ` +
        `generation was stopped after part ${this.count} of ${this.totalParts}. Shorten the text, or raise the limit.`);
  }

  protected header(): Buffer {
    return wavHeader({ ...(this.target as WavTarget), dataLength: this.dataBytes });
  }

  protected abstract append(data: Buffer): Promise<void>;
}

/** The joined WAV in memory. */
export class WavPartsBuffer extends WavParts {
  private readonly chunks: Buffer[] = [];

  protected append(data: Buffer): Promise<void> {
    this.chunks.push(data);
    return Promise.resolve();
  }

  toBuffer(): Buffer {
    return Buffer.concat([this.header(), ...this.chunks]);
  }
}

/** The joined WAV written to `file` as the parts arrive: a temporary name, renamed at the end. */
export class WavPartsFile extends WavParts {
  private handle: promises.FileHandle | undefined;
  private readonly tmp: string;

  constructor(
    readonly file: string,
    maxBytes: number,
    totalParts: number,
    /** Missing folders are made (the node's "create folders"). */
    private readonly createFolders: boolean,
  ) {
    super(maxBytes, totalParts);
    this.tmp = temporaryName(file);
  }

  protected async append(data: Buffer): Promise<void> {
    try {
      if (!this.handle) {
        if (this.createFolders) await fsp.mkdir(path.dirname(this.file), { recursive: true });
        this.handle = await fsp.open(this.tmp, 'w');
        await this.handle.write(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
      }
      await this.handle.write(data, 0, data.length, HEADER_BYTES + this.dataBytes);
    } catch (err) {
      throw fileError(this.file, err);
    }
  }

  /** Writes the header with the real sizes and moves the file into place. */
  async finish(): Promise<string> {
    try {
      if (!this.handle) throw new Error('nothing was written');
      await this.handle.write(this.header(), 0, HEADER_BYTES, 0);
      await this.handle.close();
      this.handle = undefined;
      await fsp.rename(this.tmp, this.file);
      return this.file;
    } catch (err) {
      await this.discard();
      throw fileError(this.file, err);
    }
  }

  /** Removes what was written so far. */
  async discard(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await removeQuietly(this.tmp);
  }

  get bytes(): number {
    return HEADER_BYTES + this.dataBytes;
  }
}
