export * from './data-source.options';
export * from './database.module';
export * from './historical-data.repository';
export * from './historical-data.types';
export * from './uploads.repository';
export * from './transaction.runner';
