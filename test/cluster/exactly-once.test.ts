import { clusterTrials } from './trials.js';

clusterTrials('exactly-once');
