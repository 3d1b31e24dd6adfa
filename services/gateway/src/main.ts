import { runStandalone } from '@heartguard/kit';
import { start } from './service.js';

await runStandalone(start);
