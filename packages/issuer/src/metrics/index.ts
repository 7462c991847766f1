export { METRICS_PATH, type MetricsEndpointOptions, registerMetricsEndpoint } from './metrics-endpoint.js';
export { counterOn, histogramOn } from './registered.js';
export { type ScrapeCheck, ScrapeToken } from './scrape-token.js';
