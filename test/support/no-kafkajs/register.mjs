// Loaded with --import: any attempt to resolve kafkajs (or a module of it) fails,
// so a test can prove a code path never loads the Kafka client.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
