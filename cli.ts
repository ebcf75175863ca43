#!/usr/bin/env -S node --import tsx
/**
 * The streamtx command line:
 *   streamtx run <app-module>                                      one worker of an app
 *   streamtx kafka up|status|kill|restart|stop|pause|resume|down   a local Apache Kafka cluster
 */
import { fileURLToPath } from 'node:url';
import { MissingToolError } from './testkit/kafka-install.ts';
import { runCommand } from './framework/runtime/worker-cli.ts';
import { UsageError, kafkaCommand } from './testkit/kafka-cli.ts';
// Static: tsx 4.23 fails to parse a dynamic import() in a file with a shebang.
import { chaosCommand } from './chaos/cli.ts';

const USAGE = `usage: streamtx <command>
  run <app-module>   run one worker of a streams app (the module exports topology and options)
  chaos ...          fault-inject a running app and verify exactly-once (streamtx chaos list)
  kafka ...   run a local Apache Kafka cluster (streamtx kafka help)`;

async function main(argv: string[]): Promise<number> {
  const [area, ...rest] = argv;
  switch (area) {
    case 'run':
      return runCommand(rest);
    case 'kafka':
      return kafkaCommand(rest, fileURLToPath(import.meta.url));
    case 'chaos':
      return chaosCommand(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      process.stderr.write(`unknown command '${area}'\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof MissingToolError || err instanceof UsageError) {
      process.stderr.write(`streamtx: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `streamtx: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
