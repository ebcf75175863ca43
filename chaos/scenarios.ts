/**
 * The fault scenarios. Each names the faults it draws from; `mixed` draws
 * from all. Within a run, faults come one at a time from a seeded shuffle
 * bag (every kind once per round, in a seeded order), so a short run still
 * covers every kind of its scenario and a seed replays the same schedule.
 */

export type FaultKind =
  | 'worker-kill'
  | 'worker-pause'
  | 'worker-crash-after-sends'
  | 'worker-crash-after-offsets'
  | 'worker-crash-after-kafka-commit'
  | 'broker-kill'
  | 'leader-kill'
  | 'coordinator-kill'
  | 'rolling-restart'
  | 'broker-pause';

export const FAULT_DESCRIPTIONS: Readonly<Record<FaultKind, string>> = {
  'worker-kill': 'SIGKILL a worker, restart it on the same state directory',
  'worker-pause':
    'SIGSTOP a worker beyond the session timeout (a zombie: the group moves its tasks), then SIGCONT',
  'worker-crash-after-sends':
    'a worker SIGKILLs itself after a transaction’s sends, before its offsets',
  'worker-crash-after-offsets':
    'a worker SIGKILLs itself after sendOffsets, before the Kafka commit',
  'worker-crash-after-kafka-commit':
    'a worker SIGKILLs itself after the Kafka commit, before the SQLite commit',
  'broker-kill': 'SIGKILL a broker, restart it after a few seconds',
  'leader-kill': 'SIGKILL the leader of an input partition, restart it',
  'coordinator-kill': 'SIGKILL the transaction coordinator of a task’s producer, restart it',
  'rolling-restart': 'restart every broker in turn (controlled shutdown)',
  'broker-pause': 'SIGSTOP a broker beyond its session timeout, then SIGCONT',
};

export const FAULT_KINDS = Object.keys(FAULT_DESCRIPTIONS) as FaultKind[];

export interface ChaosScenario {
  name: string;
  description: string;
  faults: readonly FaultKind[];
}

export const SCENARIOS: readonly ChaosScenario[] = [
  {
    name: 'none',
    description: 'no faults: the load alone, a baseline (an unplanned worker exit still fails it)',
    faults: [],
  },
  { name: 'worker-kill', description: 'workers SIGKILLed and restarted', faults: ['worker-kill'] },
  {
    name: 'worker-pause',
    description: 'workers paused beyond the session timeout (zombies), then resumed',
    faults: ['worker-pause'],
  },
  {
    name: 'worker-crash',
    description:
      'workers crash at each point of the commit path (test-only fault hook), then restart',
    faults: [
      'worker-crash-after-sends',
      'worker-crash-after-offsets',
      'worker-crash-after-kafka-commit',
    ],
  },
  { name: 'broker-kill', description: 'brokers SIGKILLed and restarted', faults: ['broker-kill'] },
  {
    name: 'leader-kill',
    description: 'the leader of an input partition SIGKILLed and restarted',
    faults: ['leader-kill'],
  },
  {
    name: 'coordinator-kill',
    description: 'the transaction coordinator of a task SIGKILLed and restarted',
    faults: ['coordinator-kill'],
  },
  {
    name: 'rolling-restart',
    description: 'every broker restarted in turn',
    faults: ['rolling-restart'],
  },
  {
    name: 'broker-pause',
    description: 'brokers paused beyond their session timeout, then resumed',
    faults: ['broker-pause'],
  },
  { name: 'mixed', description: 'every fault above, in a seeded order', faults: FAULT_KINDS },
];

export function findScenario(name: string): ChaosScenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found)
    throw new RangeError(
      `unknown chaos scenario '${name}' (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`,
    );
  return found;
}

/** Whether a scenario needs process control over the brokers (a local KafkaCluster). */
export function needsBrokerControl(scenario: ChaosScenario): boolean {
  return scenario.faults.some((f) => !f.startsWith('worker-'));
}
