export * from './app-config';
export * from './app-config.module';
export * from './environment';
export * from './tracing-config';
export * from './api-keys';
export * from './secret-query';
