export * from './leaks.js';
