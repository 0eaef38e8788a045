module github.com/routebundle/routebundle

go 1.26.7
