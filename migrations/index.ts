import { CreateHistoricalData1732000000000 } from './1732000000000-create-historical-data';

/** Every migration, in order. Listed explicitly so ts-jest, the API and the CLI load the same set. */
export const MIGRATIONS = [CreateHistoricalData1732000000000];
