// Prints the README's "Every ingress-nginx annotation" table from the registry (annotation-support.ts).
import { annotationTable } from './annotation-support.ts';

process.stdout.write(`${annotationTable()}\n`);
