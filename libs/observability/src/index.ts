export * from './logger.module';
export * from './metrics';
export * from './metrics.module';
export * from './spans';
export * from './startup-report';
