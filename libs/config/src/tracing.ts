// Entry point for the tracing bootstrap (@app/config/tracing): no framework imports, so loading
// it does not load what OpenTelemetry has to instrument.
export * from './environment';
export * from './tracing-config';
export * from './secret-query';
