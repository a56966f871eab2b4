import { Global, Module } from '@nestjs/common';
import { ItemCacheInterceptor, ListCacheInterceptor } from './cache.interceptor';
import { ResponseCache } from './response-cache.service';

@Global()
@Module({
  providers: [ResponseCache, ListCacheInterceptor, ItemCacheInterceptor],
  exports: [ResponseCache, ListCacheInterceptor, ItemCacheInterceptor],
})
export class CacheModule {}
