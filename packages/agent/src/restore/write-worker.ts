/**
 * @module restore/write-worker
 * Worker thread body: writes batches of small restored files (see file-writer).
 */
import { serveTasks } from '../worker-tasks.js';
import { writeBatch } from './file-writer.js';

serveTasks(writeBatch);
