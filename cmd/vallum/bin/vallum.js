#!/usr/bin/env node
// V8 settings go in before the first module loads; src/process-memory.ts says why.
import { tuneStartupHeap } from '../dist/process-memory.js';

tuneStartupHeap();
import('../dist/main.js');
