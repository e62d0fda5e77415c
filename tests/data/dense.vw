# VW multiclass, numeric feature names = 1-based columns
1 | 1:0.5 2:-1 3:2
2 |f 1:1.5 3:0.25
3 1.0 'ex3| 1:-2 2:0.3 3:4
