// The app reaches its data through the SDK only (docs/web.md).
export * from '../../sdk/index.js';
