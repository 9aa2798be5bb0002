import { clusterTrials } from './trials.js';

clusterTrials('at-least-once');
