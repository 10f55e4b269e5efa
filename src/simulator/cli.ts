#!/usr/bin/env node
/** `alltalk-sim`: runs the AllTalk v2 simulator until SIGINT/SIGTERM. */
import { isSimulatorMode, type SimulatorOptions } from './options';
import { isProfileName } from './profiles';
import { AllTalkSimulator } from './server';

const USAGE = `Usage: alltalk-sim [options]

Runs a local server that behaves like an AllTalk v2 text-to-speech server.

Options:
  --port <n>            port to listen on (default 7851; 0 = any free port)
  --host <address>      address to bind (default 127.0.0.1)
  --profile <name>      engine profile: xtts | piper (default xtts)
  --mode <mode>         real | documented (default real)
  --legacy-ip <ip>      answer absolute URLs http://<ip>:<port>/audio/... (api_use_legacy_api)
  --espeak              speak the text with espeak-ng when it is installed
  --startup-ms <n>      refuse connections for n ms at start, as while the model loads
  --output-dir <dir>    where generated files go (default: a temporary folder)
  --log                 print one line per request
  -h, --help            show this help
`;

interface CliConfig {
  options: SimulatorOptions;
  log: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): CliConfig | 'help' {
  const options: SimulatorOptions = { port: 7851 };
  let log = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${arg} needs a value`);
      return v;
    };
    const integer = (): number => {
      const v = value();
      if (!/^\d+$/.test(v)) throw new UsageError(`${arg} needs a whole number, got "${v}"`);
      return Number(v);
    };
    switch (arg) {
      case '-h':
      case '--help':
        return 'help';
      case '--port':
        options.port = integer();
        if (options.port > 65535) throw new UsageError('--port must be at most 65535');
        break;
      case '--host':
        options.host = value();
        break;
      case '--profile': {
        const p = value();
        if (!isProfileName(p)) throw new UsageError(`--profile must be xtts or piper, got "${p}"`);
        options.profile = p;
        break;
      }
      case '--mode': {
        const m = value();
        if (!isSimulatorMode(m)) throw new UsageError(`--mode must be real or documented, got "${m}"`);
        options.mode = m;
        break;
      }
      case '--legacy-ip':
        options.legacyApi = { ip: value() };
        break;
      case '--espeak':
        options.espeak = true;
        break;
      case '--startup-ms':
        options.startupMs = integer();
        break;
      case '--output-dir':
        options.outputDir = value();
        break;
      case '--log':
        log = true;
        break;
      default:
        throw new UsageError(`unknown option: ${argv[i]}`);
    }
  }
  return { options, log };
}

async function main(): Promise<void> {
  let config: CliConfig | 'help';
  try {
    config = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`alltalk-sim: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const sim = new AllTalkSimulator(config.options);
  if (config.log) {
    sim.on('response', (r) => {
      const ms = r.finishedAt !== undefined ? Math.round(r.finishedAt - r.receivedAt) : 0;
      process.stdout.write(`${r.method} ${r.path} ${r.status ?? '-'} ${ms} ms\n`);
    });
  }
  // Handlers first: a signal may come as soon as the URL is printed.
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    sim
      .stop()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  let url: string;
  try {
    url = await sim.start();
  } catch (err) {
    process.stderr.write(`alltalk-sim: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    await sim.stop().catch(() => undefined);
    process.exit(1);
  }
  if (!stopping) process.stdout.write(`AllTalk simulator (${sim.profile}, ${sim.mode}) listening on ${url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`alltalk-sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
