export * from './bar-rule.codes';
export * from './bar.rules';
export * from './bar.writer';
export * from './duplicate.tracker';
export * from './ingest.module';
export * from './csv-header';
export * from './csv-records';
export * from './csv.ingestor';
