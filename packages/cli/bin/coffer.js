#!/usr/bin/env node
// Committed entry point, so npm can link and mark it executable before the build has run.
import '../dist/bin.js';
