// Package awsbase is what every runtime binary needs to reach AWS: the
// SDK configuration and whole-object reads from S3. It is apart from awsx
// because a Go binary keeps the package initialisers of every package it
// imports: awsx's SQS, SNS and Secrets Manager clients add their schemas
// and endpoint tables, about 0.5 MB, to a binary that calls none of them,
// and the processor Lambda, which only reads S3, has a 15 MiB budget.
package awsbase
