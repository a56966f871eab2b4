import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathOf, putInFront } from './server-front';

describe('pathOf', () => {
  it.each([
    ['/api/v1/data', '/api/v1/data'],
    ['/api/v1/data?symbol=A', '/api/v1/data'],
    ['/api/v1/data?', '/api/v1/data'],
    ['/health?x=1?y=2', '/health'],
    ['', ''],
  ])('%s -> %s', (url, path) => expect(pathOf(url)).toBe(path));
});

describe('putInFront', () => {
  const req = {} as IncomingMessage;
  const res = {} as ServerResponse;

  it('the last one put in front sees a request first; rest hands it to the listeners before it', () => {
    const seen: string[] = [];
    const server = createServer(() => seen.push('app'));
    putInFront(server, (_q, _s, rest) => {
      seen.push('inner');
      rest(_q, _s);
    });
    putInFront(server, (_q, _s, rest) => {
      seen.push('outer');
      rest(_q, _s);
    });
    server.emit('request', req, res);
    expect(seen).toEqual(['outer', 'inner', 'app']);
    expect(server.listenerCount('request')).toBe(1);
  });

  it('a front that does not call rest keeps the request from the listeners behind it', () => {
    const app = jest.fn();
    const server = createServer(app);
    putInFront(server, () => undefined);
    server.emit('request', req, res);
    expect(app).not.toHaveBeenCalled();
  });
});
