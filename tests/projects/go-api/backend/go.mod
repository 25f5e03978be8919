module github.com/example-team/linkshort

go 1.19
