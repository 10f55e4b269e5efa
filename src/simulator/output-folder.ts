/**
 * Where the simulator writes its audio: the `outputs` folder of a folder standing for the AllTalk
 * installation. Without the `outputDir` option both are made in the system's temporary folder and
 * removed on stop(); with it, the folder named is used (created if missing), its parent stands
 * for the installation, and nothing is removed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export class OutputFolder {
  /** The outputs folder. */
  readonly path: string;
  /** The folder standing for the AllTalk installation. */
  readonly installPath: string;
  private readonly temporary: boolean;

  constructor(outputDir: string | undefined) {
    if (outputDir) {
      this.path = path.resolve(outputDir);
      fs.mkdirSync(this.path, { recursive: true });
      this.installPath = path.dirname(this.path);
      this.temporary = false;
    } else {
      this.installPath = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-sim-'));
      this.path = path.join(this.installPath, 'outputs');
      fs.mkdirSync(this.path);
      this.temporary = true;
    }
  }

  /** Makes the outputs folder again if it is gone (a restart after stop()). */
  recreate(): void {
    fs.mkdirSync(this.path, { recursive: true });
  }

  /** Removes a temporary installation folder with everything in it. */
  removeIfTemporary(): void {
    if (this.temporary) fs.rmSync(this.installPath, { recursive: true, force: true });
  }
}
