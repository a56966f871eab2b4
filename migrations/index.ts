import { CreateHistoricalData1732000000000 } from './1732000000000-create-historical-data';
import { CreateUploads1732000000001 } from './1732000000001-create-uploads';
import { CreateIdempotencyKeys1732000000002 } from './1732000000002-create-idempotency-keys';
import { AddUploadsClientIp1732000000003 } from './1732000000003-add-uploads-client-ip';
import { CreateSymbols1732000000011 } from './1732000000011-create-symbols';
import { AddUploadOwnership1732000000013 } from './1732000000013-add-upload-ownership';

/** Every migration, in order. Listed explicitly so ts-jest, the API and the CLI load the same set. */
export const MIGRATIONS = [
  CreateHistoricalData1732000000000,
  CreateUploads1732000000001,
  CreateIdempotencyKeys1732000000002,
  AddUploadsClientIp1732000000003,
  CreateSymbols1732000000011,
  AddUploadOwnership1732000000013,
];
