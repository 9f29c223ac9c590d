/**
 * @scorekit/samplers — sampling and likelihoods for score-based models (Song et al. 2021):
 * predictor–corrector samplers, probability-flow ODE solvers (Euler, Heun, RK45) with
 * encode / decode and exact log-likelihoods (Hutchinson–Skilling), and guidance as score
 * transformers (classifier guidance of Chao et al. 2022, classifier-free guidance).
 */
export * from './control.js';
export * from './correctors.js';
export * from './guidance.js';
export * from './likelihood.js';
export * from './odeSolvers.js';
export * from './pc.js';
export * from './predictors.js';
export * from './probabilityFlow.js';
export * from './rowKeys.js';
export * from './schedule.js';
